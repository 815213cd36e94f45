from dataclasses import dataclass
from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tessera.core.http import cookie_free
from tessera.core.ratelimit import rate_limited

from . import selectors, services
from .forms import DeathNoticeForm, DirectiveForm, ObjectionForm, RectificationForm, RightsEmailForm
from .models import ProcessingLimit, RightsRequest
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
        # The answer is the same whether the address is known, unknown or has asked too often.
        services.rights_link_request(
            email=email, language=translation.get_language() or "fr", request=request
        )
        return render(request, "privacy/rights_sent.html", {"email": email})
    return render(request, "privacy/rights.html", {"form": form})


@dataclass(frozen=True)
class Requester:
    """The person acting on their own data: their proven address, and how to show their page again."""

    email: str
    channel: str
    portal_token: str = ""
    account: bool = False


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
            who = Requester(email=email, channel=RightsRequest.Channel.PORTAL, portal_token=portal_token)
            return _portal(request, who)
        services.rights_link_check(token=token)
    except services.RightsLinkError as error:
        return _link_error(request, error.reason)
    return render(request, "privacy/link_confirm.html", {"token": token})


def _unknown_action(request):
    return HttpResponseBadRequest(
        _("This action does not exist. Go back to the page and use one of its buttons."),
        content_type="text/plain; charset=utf-8",
    )


@cookie_free
@referrer_policy("same-origin")
@require_POST
def rights_act(request, action):
    view = ACTIONS.get(action)
    if view is None:
        return _unknown_action(request)
    portal_token = request.POST.get("portal", "")
    email = services.portal_email(portal_token)
    if email is None:
        return _link_error(request, "session")
    return view(
        request,
        Requester(email=email, channel=RightsRequest.Channel.PORTAL, portal_token=portal_token),
    )


@login_required
@referrer_policy("same-origin")
def account_rights(request):
    return _portal(
        request, Requester(email=request.user.email, channel=RightsRequest.Channel.ACCOUNT, account=True)
    )


def _needs_recent_sign_in(request) -> bool:
    # Erasing the account or downloading all of it is what a borrowed or stolen session would be used for.
    return request.resolver_match.kwargs.get("action") in ("erase", "export")


@login_required
@referrer_policy("same-origin")
@require_POST
@reauthentication_required(enabled=_needs_recent_sign_in)
def account_rights_act(request, action):
    view = ACTIONS.get(action)
    if view is None:
        return _unknown_action(request)
    return view(
        request, Requester(email=request.user.email, channel=RightsRequest.Channel.ACCOUNT, account=True)
    )


def _portal(request, who: Requester, *, notice="", forms=None, status=200):
    forms = forms or {}
    state = selectors.rights_portal_state(email=who.email)
    context = {
        **state,
        "email": who.email,
        "portal_token": who.portal_token,
        "account": who.account,
        "notice": notice,
        "restriction_effects": RESTRICTION_EFFECTS,
        "rectification_form": forms.get("rectify")
        or RectificationForm(initial={"full_name": state["full_name"]}),
        "objection_form": forms.get("object") or ObjectionForm(),
        "directive_form": forms.get("directive") or DirectiveForm(),
        "death_notice_form": forms.get("death_notice") or DeathNoticeForm(),
        "actions_url_prefix": "account_rights_act" if who.account else "rights_act",
    }
    return render(request, "privacy/portal.html", context, status=status)


# One view per right; `rights_act` and `account_rights_act` have proven who acts.


def export(request, who: Requester):
    archive = services.rights_export(
        email=who.email, channel=who.channel, language=translation.get_language() or "fr", request=request
    )
    response = HttpResponse(archive, content_type="application/zip")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{stamp}.zip"'
    return response


def erase(request, who: Requester):
    record = services.rights_erase(
        email=who.email, channel=who.channel, request=request, language=translation.get_language() or "fr"
    )
    if who.account:
        logout(request)  # the account is gone
    return render(request, "privacy/erased.html", {"record": record, "outcomes": record.outcome_objects})


def rectify(request, who: Requester):
    form = RectificationForm(request.POST)
    if not form.is_valid():
        return _portal(request, who, forms={"rectify": form}, status=400)
    record = services.rights_request_rectify(
        email=who.email, channel=who.channel, request=request, **form.cleaned_data
    )
    if record.is_open:
        notice = _(
            "Your name is updated. The rest of your request went to our data protection officer (%(ref)s)."
        ) % {"ref": record.reference}
    else:
        notice = _("Your data is corrected.")
    return _portal(request, who, notice=notice)


def restrict(request, who: Requester):
    services.rights_restrict(email=who.email, channel=who.channel, request=request)
    notice = f"{_('Processing of your data is restricted until you lift it.')} {RESTRICTION_EFFECTS}"
    return _portal(request, who, notice=notice)


def lift_restriction(request, who: Requester):
    services.limit_lift(email=who.email, kind=ProcessingLimit.Kind.RESTRICTION)
    return _portal(request, who, notice=_("The restriction is lifted."))


def object_(request, who: Requester):
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        return _portal(request, who, forms={"object": form}, status=400)
    record = services.rights_request_object(
        email=who.email, channel=who.channel, request=request, **form.cleaned_data
    )
    if not record.is_open:
        return _portal(request, who, notice=_("You will receive no marketing email from us."))
    notice = _(
        "Your objection is recorded (%(ref)s). Our data protection officer examines it and answers within one month."
    ) % {"ref": record.reference}
    return _portal(request, who, notice=notice)


def withdraw(request, who: Requester):
    services.rights_request_withdraw(email=who.email, channel=who.channel, request=request)
    return _portal(request, who, notice=_("Every consent you gave us is withdrawn."))


def directive(request, who: Requester):
    form = DirectiveForm(request.POST)
    if not form.is_valid():
        return _portal(request, who, forms={"directive": form}, status=400)
    services.rights_request_directive(
        email=who.email, channel=who.channel, request=request, **form.cleaned_data
    )
    return _portal(request, who, notice=_("Your directives are recorded. You can change or revoke them."))


def revoke_directive(request, who: Requester):
    services.directive_revoke(email=who.email)
    return _portal(request, who, notice=_("Your directives are revoked."))


def death_notice(request, who: Requester):
    form = DeathNoticeForm(request.POST)
    if not form.is_valid():
        return _portal(request, who, forms={"death_notice": form}, status=400)
    try:
        record = services.death_notice_present(
            presenter_email=who.email, channel=who.channel, request=request, **form.cleaned_data
        )
    except services.RightsRequestError as error:
        form.add_error("deceased_email", str(error))
        return _portal(request, who, forms={"death_notice": form}, status=400)
    notice = _(
        "Your notice is recorded (%(ref)s). Our data protection officer checks it, then carries out "
        "the directive and writes to you."
    ) % {"ref": record.reference}
    return _portal(request, who, notice=notice)


ACTIONS = {
    "export": export,
    "rectify": rectify,
    "erase": erase,
    "restrict": restrict,
    "lift_restriction": lift_restriction,
    "object": object_,
    "withdraw": withdraw,
    "directive": directive,
    "revoke_directive": revoke_directive,
    "death_notice": death_notice,
}


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
