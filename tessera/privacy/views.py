from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tessera.core.http import cookie_free
from tessera.core.ratelimit import limit_hit, rate_limited

from . import services
from .forms import DeathNoticeForm, DirectiveForm, ObjectionForm, RectificationForm, RightsEmailForm
from .models import ConsentRecord, PostMortemDirective, ProcessingLimit, RightsRequest
from .policy import RESTRICTION_EFFECTS, policy_context, register_csv, register_export


def referrer_policy(policy: str):
    """Pages holding forms: with `no-referrer`, Chromium sends `Origin: null` on same-origin POSTs,
    which the Origin check must refuse. `same-origin` still sends nothing to other sites; the one-time
    link page uses `strict-origin` so that its token never appears in a Referer."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["Referrer-Policy"] = policy
            return response

        return wrapped

    return decorator


ACTIONS = (
    "export",
    "rectify",
    "erase",
    "restrict",
    "lift_restriction",
    "object",
    "withdraw",
    "directive",
    "revoke_directive",
    "death_notice",
)


@cookie_free
def policy(request):
    return render(request, "privacy/policy.html", policy_context())


@cookie_free
def register_json(request):
    response = JsonResponse(register_export(), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'inline; filename="register.json"'
    return response


@cookie_free
def register_csv_view(request):
    response = HttpResponse(register_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="register.csv"'
    return response


# --- Rights portal --------------------------------------------------------------------------------


@cookie_free
@referrer_policy("same-origin")
@rate_limited("privacy_rights", limit=10, period=3600)
def rights(request):
    form = RightsEmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        # Per address too, so nobody can flood someone's mailbox; the answer stays the same.
        if limit_hit(scope="privacy_rights_email", key=email, limit=3, period=3600).allowed:
            services.rights_link_request(
                email=email, language=translation.get_language() or "fr", request=request
            )
        return render(request, "privacy/rights_sent.html", {"email": email})
    return render(request, "privacy/rights.html", {"form": form})


def _link_error(request, reason):
    messages = {
        "invalid": _("This link is not valid. Check that you copied it entirely, or ask for a new one."),
        "expired": _("This link has expired: links are valid 24 hours. Ask for a new one."),
        "used": _("This link was already used: each link works once. Ask for a new one."),
        "session": _("Your session on this page has expired after one hour. Ask for a new link."),
    }
    return render(
        request,
        "privacy/link_error.html",
        {"message": messages[reason]},
        status=410 if reason in ("expired", "used", "session") else 400,
    )


@cookie_free
@referrer_policy("strict-origin")
def rights_link(request, token):
    # GET only shows a button, so that mail scanners opening links do not spend them.
    try:
        if request.method == "POST":
            portal_token = services.rights_link_consume(token=token, request=request)
            email = services.portal_email(portal_token)
            return _portal(request, email=email, portal_token=portal_token)
        services.rights_link_check(token=token)
    except services.RightsLinkError as error:
        return _link_error(request, error.reason)
    return render(request, "privacy/link_confirm.html", {"token": token})


@cookie_free
@referrer_policy("same-origin")
@require_POST
def rights_act(request, action):
    portal_token = request.POST.get("portal", "")
    email = services.portal_email(portal_token)
    if email is None:
        return _link_error(request, "session")
    return _act(request, action, email=email, channel=RightsRequest.Channel.PORTAL, portal_token=portal_token)


@login_required
@referrer_policy("same-origin")
def account_rights(request):
    return _portal(request, email=request.user.email, account=True)


def _needs_recent_sign_in(request) -> bool:
    # Erasing the account or downloading all of it is what a borrowed or stolen session would be used for.
    return request.resolver_match.kwargs.get("action") in ("erase", "export")


@login_required
@referrer_policy("same-origin")
@require_POST
@reauthentication_required(enabled=_needs_recent_sign_in)
def account_rights_act(request, action):
    return _act(
        request, action, email=request.user.email, channel=RightsRequest.Channel.ACCOUNT, account=True
    )


def _portal(
    request, *, email, portal_token="", account=False, notice="", outcome=None, forms=None, status=200
):
    forms = forms or {}
    subject = services.subject_resolve(email)
    sections = services.subject_export(subject)
    user = None
    if subject.user_ids:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=subject.user_ids[0]).first()
    context = {
        "email": email,
        "portal_token": portal_token,
        "account": account,
        "notice": notice,
        "outcome": outcome,
        "summary": [(s.category, len(s.rows)) for s in sections if s.rows],
        "restricted": services.limit_active(email=email, kinds=[ProcessingLimit.Kind.RESTRICTION]),
        "restriction_effects": RESTRICTION_EFFECTS,
        "marketing": services.consent_active(email=email, purpose=ConsentRecord.Purpose.MARKETING),
        "directive": PostMortemDirective.objects.filter(email=email, revoked_at__isnull=True).first(),
        "rectification_form": forms.get("rectify")
        or RectificationForm(initial={"full_name": user.full_name if user else ""}),
        "has_account": user is not None,
        "objection_form": forms.get("object") or ObjectionForm(),
        "directive_form": forms.get("directive") or DirectiveForm(),
        "named_in_directives": services.directives_naming(email).exists(),
        "death_notice_form": forms.get("death_notice") or DeathNoticeForm(),
        "actions_url_prefix": "account_rights_act" if account else "rights_act",
    }
    return render(request, "privacy/portal.html", context, status=status)


def _act(request, action, *, email, channel, portal_token="", account=False):
    if action not in ACTIONS:
        return HttpResponseNotAllowed(["POST"])
    language = translation.get_language() or "fr"
    kinds = RightsRequest.Kind
    portal = {"email": email, "portal_token": portal_token, "account": account}
    if action == "export":
        record = services.rights_request_create(
            email=email, kind=kinds.ACCESS, channel=channel, request=request
        )
        archive = services.rights_request_export(
            record=record, language=language, request=request, answer="export downloaded"
        )
        response = HttpResponse(archive, content_type="application/zip")
        stamp = timezone.now().strftime("%Y%m%d")
        response["Content-Disposition"] = f'attachment; filename="personal-data-{stamp}.zip"'
        return response
    if action == "erase":
        record = services.rights_erase(email=email, channel=channel, request=request, language=language)
        if account:
            from django.contrib.auth import logout

            logout(request)
        return render(request, "privacy/erased.html", {"record": record, "outcomes": record.outcome_objects})
    if action == "rectify":
        form = RectificationForm(request.POST)
        if not form.is_valid():
            return _portal(request, **portal, forms={"rectify": form}, status=400)
        return _portal(request, **portal, notice=_rectify(email, channel, form.cleaned_data, request))
    if action == "restrict":
        record = services.rights_request_create(
            email=email, kind=kinds.RESTRICTION, channel=channel, request=request
        )
        services.rights_request_restrict(record=record)
        notice = f"{_('Processing of your data is restricted until you lift it.')} {RESTRICTION_EFFECTS}"
        return _portal(request, **portal, notice=notice)
    if action == "lift_restriction":
        services.limit_lift(email=email, kind=ProcessingLimit.Kind.RESTRICTION)
        return _portal(request, **portal, notice=_("The restriction is lifted."))
    if action == "object":
        form = ObjectionForm(request.POST)
        if not form.is_valid():
            return _portal(request, **portal, forms={"object": form}, status=400)
        return _portal(request, **portal, notice=_object(email, channel, form.cleaned_data, request))
    if action == "withdraw":
        record = services.rights_request_create(
            email=email, kind=kinds.WITHDRAWAL, channel=channel, request=request
        )
        count = services.consent_withdraw(email=email, method=channel)
        services.rights_request_close(record=record, answer=f"{count} consents withdrawn")
        return _portal(request, **portal, notice=_("Every consent you gave us is withdrawn."))
    if action == "directive":
        form = DirectiveForm(request.POST)
        if not form.is_valid():
            return _portal(request, **portal, forms={"directive": form}, status=400)
        record = services.rights_request_create(
            email=email, kind=kinds.POST_MORTEM, channel=channel, request=request
        )
        services.directive_set(email=email, **form.cleaned_data)
        services.rights_request_close(record=record, answer="directive recorded")
        return _portal(
            request, **portal, notice=_("Your directives are recorded. You can change or revoke them.")
        )
    if action == "death_notice":
        return _death_notice(request, email, channel, portal)
    services.directive_revoke(email=email)
    return _portal(request, **portal, notice=_("Your directives are revoked."))


def _death_notice(request, email, channel, portal):
    form = DeathNoticeForm(request.POST)
    if form.is_valid():
        try:
            record = services.death_notice_present(
                presenter_email=email,
                deceased_email=form.cleaned_data["deceased_email"],
                details=form.cleaned_data["details"],
                channel=channel,
                request=request,
            )
        except services.RightsRequestError as error:
            form.add_error("deceased_email", str(error))
        else:
            notice = _(
                "Your notice is recorded (%(ref)s). Our data protection officer checks it, then carries out "
                "the directive and writes to you."
            ) % {"ref": record.reference}
            return _portal(request, **portal, notice=notice)
    return _portal(request, **portal, forms={"death_notice": form}, status=400)


@cookie_free
@referrer_policy("strict-origin")
def directive_export(request, token):
    """The data a deceased person's directive communicates to the person it names (GET shows a button,
    so that mail scanners opening the link do not spend it)."""
    try:
        if request.method == "POST":
            archive = services.directive_export_download(token=token, request=request)
            response = HttpResponse(archive, content_type="application/zip")
            response["Content-Disposition"] = 'attachment; filename="communicated-data.zip"'
            return response
        services.directive_export_check(token=token)
    except services.RightsLinkError as error:
        return _link_error(request, error.reason)
    return render(request, "privacy/directive_export.html", {"token": token})


def _rectify(email, channel, data, request):
    from django.contrib.auth import get_user_model

    subject = services.subject_resolve(email)
    changed = 0
    if subject.user_ids and data["full_name"] is not None:
        changed = get_user_model().objects.filter(pk__in=subject.user_ids).update(full_name=data["full_name"])
    record = services.rights_request_create(
        email=email,
        kind=RightsRequest.Kind.RECTIFICATION,
        channel=channel,
        details=data["details"],
        request=request,
    )
    if data["details"].strip():
        return _(
            "Your name is updated. The rest of your request went to our data protection officer (%(ref)s)."
        ) % {"ref": record.reference}
    services.rights_request_close(record=record, answer=f"updated {changed} account(s)")
    return _("Your data is corrected.")


def _object(email, channel, data, request):
    kinds = RightsRequest.Kind
    record = services.rights_request_create(
        email=email, kind=kinds.OBJECTION, channel=channel, details=data["reason"], request=request
    )
    if data["scope"] == "marketing":
        services.consent_withdraw(email=email, purpose=ConsentRecord.Purpose.MARKETING, method="objection")
        services.limit_add(email=email, kind=ProcessingLimit.Kind.OBJECTION_MARKETING, request_record=record)
        services.rights_request_close(record=record, answer="marketing objection in force")
        return _("You will receive no marketing email from us.")
    services.limit_add(
        email=email,
        kind=ProcessingLimit.Kind.OBJECTION_INTEREST,
        reason=data["reason"],
        request_record=record,
    )
    return _(
        "Your objection is recorded (%(ref)s). Our data protection officer examines it and answers within one month."
    ) % {"ref": record.reference}


# --- Unsubscribe ----------------------------------------------------------------------------------


@cookie_free
@referrer_policy("same-origin")
@csrf_exempt  # authenticated by the signed token itself (RFC 8058 one-click POST carries no form token)
def unsubscribe(request, token):
    consent = services.unsubscribe_consent(token)
    if consent is None:
        return render(request, "privacy/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        # RFC 8058: a mail client's one-click POST carries List-Unsubscribe=One-Click; the page's own
        # button sends `confirm`. Any other POST (a scanner, a prefetch) changes nothing.
        if request.POST.get("List-Unsubscribe") == "One-Click":
            method = "one-click"
        elif request.POST.get("confirm") == "unsubscribe":
            method = "link"
        else:
            return render(
                request, "privacy/unsubscribe.html", {"token": token, "unconfirmed": True}, status=400
            )
        services.consent_unsubscribe(consent=consent, method=method)
        return render(request, "privacy/unsubscribe.html", {"done": True})
    return render(
        request,
        "privacy/unsubscribe.html",
        {"token": token, "already": consent.withdrawn_at is not None},
    )
