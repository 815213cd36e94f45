"""The personal space and the organisation admin. Thin: forms in, services out."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from tessera.accounts import selectors as accounts_selectors
from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership, User
from tessera.core.ratelimit import rate_limited
from tessera.privacy import dpa as privacy_dpa

from .. import charts, formats, selectors, services
from ..forms import AcceptForm, LeadForm, OrganisationForm, PhotoForm, ProfileForm
from ..forms.dpa import dpa_accept_form
from ..forms.organisation import ImportForm, InviteForm, SettingsForm, TemplateForm
from ..models import Card, CardInvitation, CardsSettings, CardTemplate, Lead
from .access import administered, messages_of


def _my_card(request, slug) -> Card:
    card = selectors.card_of(user=request.user, slug=slug)
    if card is None:
        raise Http404
    return card


def _language() -> str:
    return translation.get_language() or "fr"


# --- personal space ----------------------------------------------------------------------------------


@login_required
def home(request):
    cards = list(selectors.cards_of(user=request.user))
    series = selectors.stats_daily(cards=cards)
    return render(
        request,
        "cards/home.html",
        {
            "cards": cards,
            "charts": charts.dashboard_charts(series),
            "administered": accounts_selectors.organisations_administered(user=request.user),
            "lead_count": selectors.leads_visible_to(user=request.user).count(),
        },
    )


@login_required
@require_POST
def card_new(request):
    try:
        card = services.personal_card_create(owner=request.user)
    except services.PersonalCardExists as exists:
        messages.info(request, exists.message)
        return redirect("cards:home")
    return redirect("cards:card_edit", slug=card.slug)


@login_required
def card_detail(request, slug):
    card = _my_card(request, slug)
    membership = (
        accounts_selectors.membership_get(user=request.user, organisation=card.organisation)
        if card.organisation
        else None
    )
    return render(
        request,
        "cards/card_detail.html",
        {
            "card": card,
            "membership": membership,
            "hand_back": CardsSettings.objects.filter(
                organisation_id=card.organisation_id, hand_back_cards=True
            ).exists(),
            "public_url": formats.card_url(card),
            "nfc_url": formats.card_url(card, "nfc"),
            "charts": charts.dashboard_charts(selectors.stats_daily(cards=[card])),
        },
    )


@login_required
def card_edit(request, slug):
    card = _my_card(request, slug)
    locked = selectors.card_locked_values(card)
    admin_only = (
        set()
        if services.acts_as_admin(actor=request.user, organisation_id=card.organisation_id)
        else selectors.template_selecting_fields(organisation_id=card.organisation_id)
    )
    if request.method == "POST" and "photo" in request.FILES:
        photo_form = PhotoForm(request.POST, request.FILES)
        if photo_form.is_valid():
            upload = photo_form.cleaned_data["photo"]
            try:
                services.card_photo_set(card=card, data=upload.read(), filename=upload.name)
            except ValidationError as error:
                photo_form.add_error("photo", error)
            else:
                messages.success(request, _("Your photo was updated."))
                return redirect("cards:card_edit", slug=card.slug)
        form = _profile_form(card, locked, admin_only)
        return _edit_page(request, card, form, photo_form, status=400)
    if request.method == "POST":
        form = _profile_form(card, locked, admin_only, request.POST)
        if form.is_valid():
            try:
                services.card_update(card=card, changes=form.changes(), actor=request.user)
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                messages.success(request, _("Your card was saved."))
                return redirect("cards:card_edit", slug=card.slug)
        return _edit_page(request, card, form, PhotoForm(), status=400)
    return _edit_page(request, card, _profile_form(card, locked, admin_only), PhotoForm())


def _profile_form(card, locked, admin_only, data=None) -> ProfileForm:
    return ProfileForm(
        data,
        initial=ProfileForm.initial_for(card, locked),
        locked=locked,
        admin_only=admin_only,
        directory=card.directory_fields,
        source=card.directory_source,
    )


def _edit_page(request, card, form, photo_form, status=200):
    return render(
        request,
        "cards/card_edit.html",
        {"card": card, "form": form, "groups": form.groups(), "photo_form": photo_form},
        status=status,
    )


@login_required
@require_POST
def card_photo_remove(request, slug):
    services.card_photo_remove(card=_my_card(request, slug))
    return redirect("cards:card_edit", slug=slug)


@login_required
@require_POST
def card_active(request, slug):
    card = _my_card(request, slug)
    try:
        services.card_set_active(card=card, active=request.POST.get("active") == "1")
    except ValidationError as error:
        for message in messages_of(error):
            messages.error(request, message)
    else:
        messages.success(
            request, _("Your card is active.") if card.is_active else _("Your card is deactivated.")
        )
    return redirect("cards:card_detail", slug=slug)


# --- leads -------------------------------------------------------------------------------------------


def _lead(request, pk) -> Lead:
    lead = selectors.leads_visible_to(user=request.user).filter(pk=pk).first()
    if lead is None:
        raise Http404
    return lead


@login_required
def lead_list(request):
    q, status, tag = (request.GET.get(k, "").strip() for k in ("q", "status", "tag"))
    leads = selectors.leads_search(selectors.leads_visible_to(user=request.user), q=q, status=status, tag=tag)
    return render(
        request,
        "cards/lead_list.html",
        {"leads": leads, "q": q, "status": status, "tag": tag, "statuses": Lead.Status.choices},
    )


@login_required
def lead_export(request):
    leads = selectors.leads_visible_to(user=request.user)
    response = HttpResponse(services.leads_csv(leads), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="leads.csv"'
    return response


@login_required
def lead_detail(request, pk):
    lead = _lead(request, pk)
    if request.method == "POST":
        form = LeadForm(request.POST)
        if form.is_valid():
            try:
                services.lead_update(lead=lead, **form.cleaned_data)
            except ValidationError as error:
                for message in messages_of(error):
                    form.add_error(None, message)
            else:
                messages.success(request, _("The lead was saved."))
                return redirect("cards:lead_detail", pk=lead.pk)
    else:
        form = LeadForm(initial={"status": lead.status, "tags": ", ".join(lead.tags), "notes": lead.notes})
    return render(request, "cards/lead_detail.html", {"lead": lead, "form": form})


@login_required
@require_POST
def lead_delete(request, pk):
    services.lead_delete(lead=_lead(request, pk))
    messages.success(request, _("The lead was deleted."))
    return redirect("cards:lead_list")


# --- organisations -----------------------------------------------------------------------------------


@login_required
def organisation_new(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = accounts_services.organisation_create(
                owner=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            for message in messages_of(error):
                form.add_error("name", message)
        else:
            return redirect("cards:org_dashboard", org_slug=organisation.slug)
    return render(request, "cards/org_new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def org_dashboard(request, org_slug):
    organisation = administered(request, org_slug)
    cards_settings = selectors.cards_settings_of(organisation=organisation)
    org_cards = list(Card.objects.filter(organisation=organisation).select_related("owner", "template"))
    settings_form = SettingsForm(instance=cards_settings)
    mine = accounts_selectors.membership_get(user=request.user, organisation=organisation)  # an admin's seat
    return render(
        request,
        "cards/org_dashboard.html",
        {
            "organisation": organisation,
            "cards": org_cards,
            "memberships": organisation.memberships.select_related("user"),
            "invitations": CardInvitation.objects.filter(organisation=organisation, accepted_at__isnull=True),
            "templates": CardTemplate.objects.filter(organisation=organisation),
            "charts": charts.dashboard_charts(selectors.stats_daily(cards=org_cards)),
            "invite_form": InviteForm(),
            "is_owner": mine.role == Membership.Role.OWNER,
            "settings_form": settings_form,
            "cards_settings": cards_settings,
            "dpa": privacy_dpa.dpa_status(organisation=organisation),
            "dpa_form": dpa_accept_form(organisation=organisation),
        },
    )


@login_required
@require_POST
def org_settings(request, org_slug):
    organisation = administered(request, org_slug)
    form = SettingsForm(request.POST)
    if form.is_valid():
        services.cards_settings_update(organisation=organisation, **form.cleaned_data)
        messages.success(request, _("Settings saved."))
    else:
        messages.error(request, _("The settings could not be saved."))
    return redirect("cards:org_dashboard", org_slug=org_slug)


@login_required
@rate_limited("cards.invite", limit=60, period=3600, key=lambda r: f"user:{r.user.pk}")
def org_invite(request, org_slug):
    organisation = administered(request, org_slug)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(
                organisation=organisation, invited_by=request.user, language=_language(), **form.cleaned_data
            )
        except ValidationError as error:
            for message in messages_of(error):
                form.add_error(None, message)
        else:
            messages.success(request, _("The invitation was sent to %(email)s.") % form.cleaned_data)
            return redirect("cards:org_dashboard", org_slug=org_slug)
    return render(
        request,
        "cards/org_invite.html",
        {"organisation": organisation, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def org_import(request, org_slug):
    """Upload, then a preview of every row with its errors; nothing is created before confirmation."""
    organisation = administered(request, org_slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    context = {"organisation": organisation, "form": form}
    if request.method == "POST" and form.is_valid():
        try:
            rows = services.invitations_import_preview(
                organisation=organisation, csv_text=form.cleaned_data["file"], invited_by=request.user
            )
        except ValidationError as error:
            for message in messages_of(error):
                form.add_error("file", message)
        else:
            context |= {
                "rows": rows,
                "bad_rows": sum(1 for r in rows if r["errors"]),
                "csv_text": form.cleaned_data["file"],
            }
            return render(request, "cards/org_import_preview.html", context)
    return render(request, "cards/org_import.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def org_import_confirm(request, org_slug):
    organisation = administered(request, org_slug)
    try:
        created = services.invitations_import(
            organisation=organisation,
            csv_text=request.POST.get("csv_text", ""),
            invited_by=request.user,
            language=_language(),
        )
    except ValidationError as error:
        for message in messages_of(error):
            messages.error(request, message)
        return redirect("cards:org_import", org_slug=org_slug)
    messages.success(
        request,
        ngettext("%(n)s invitation was sent.", "%(n)s invitations were sent.", len(created))
        % {"n": len(created)},
    )
    return redirect("cards:org_dashboard", org_slug=org_slug)


@login_required
def org_template(request, org_slug, pk=None):
    organisation = administered(request, org_slug)
    template = get_object_or_404(CardTemplate, pk=pk, organisation=organisation) if pk else None
    if request.method == "POST":
        form = TemplateForm(request.POST, request.FILES)
        if form.is_valid():
            logo = form.cleaned_data.get("logo")
            try:
                template = services.template_save(
                    organisation=organisation,
                    template=template,
                    logo=(logo.read(), logo.name) if logo else None,
                    **form.values(),
                )
            except ValidationError as error:
                for name, ms in error.message_dict.items():
                    for message in ms:
                        form.add_error(name if name in form.fields else None, message)
            else:
                messages.success(request, _("The template was saved."))
                return redirect("cards:org_template", org_slug=org_slug, pk=template.pk)
    else:
        form = TemplateForm(
            initial=TemplateForm.initial_for(template)
            if template
            else {"primary_colour": "#4338ca", "background_colour": "#ffffff", "text_colour": "#161a26"}
        )
    return render(
        request,
        "cards/org_template.html",
        {"organisation": organisation, "template": template, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
def org_leads(request, org_slug):
    organisation = administered(request, org_slug)
    if not selectors.leads_shared(organisation=organisation):
        raise Http404
    leads = selectors.leads_of_organisation(organisation=organisation)
    return render(
        request,
        "cards/lead_list.html",
        {"leads": leads, "organisation": organisation, "statuses": Lead.Status.choices},
    )


# --- invitations -------------------------------------------------------------------------------------


def invitation_accept(request, token):
    invitation = services.invitation_by_token(token)
    if invitation is None:
        return render(request, "cards/invitation_invalid.html", status=404)
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                _user, card = services.invitation_accept(invitation=invitation, user=request.user)
            except ValidationError as error:
                return render(
                    request,
                    "cards/invitation.html",
                    {"invitation": invitation, "errors": messages_of(error)},
                    status=400,
                )
            return redirect("cards:card_edit", slug=card.slug)
        return render(request, "cards/invitation.html", {"invitation": invitation})
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, card = services.invitation_accept(
                invitation=invitation,
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
                language=_language(),
            )
        except ValidationError as error:
            for message in messages_of(error):
                form.add_error(None, message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("cards:card_edit", slug=card.slug)
    existing = User.objects.filter(email=invitation.email).exists()
    return render(
        request,
        "cards/invitation.html",
        {"invitation": invitation, "form": form, "existing": existing},
        status=400 if form.errors else 200,
    )
