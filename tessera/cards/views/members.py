"""The organisation's members page: roles, removal, ownership transfer, a member's card; and leaving.

Thin: the rules (who may do what) live in accounts.services.membership_*; these views only map their answers.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tessera.accounts import selectors as accounts_selectors
from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership

from .. import services
from ..forms.organisation import MemberCardForm, RoleForm, TransferForm
from ..models import Card
from .access import administered, messages_of

CARD_OUTCOME = {
    "deactivated": gettext_lazy("Their card was deactivated."),
    "handed_back": gettext_lazy("Their card was handed back to them."),
    "none": "",
}


def _members(organisation):
    memberships = list(
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    cards = {
        c.owner_id: c
        for c in Card.objects.filter(organisation=organisation).only("owner_id", "is_active", "slug")
    }
    for membership in memberships:
        user = membership.user
        moments = [m for m in (user.last_login, user.last_activity_at) if m]
        membership.last_activity = max(moments) if moments else None
        membership.card = cards.get(user.pk)
    return memberships


def _member(organisation, pk) -> Membership:
    return get_object_or_404(Membership, organisation=organisation, pk=pk)


def _report(request, error: ValidationError) -> None:
    for message in messages_of(error):
        messages.error(request, message)


def _page(request, organisation, *, transfer_form=None, status=200):
    mine = accounts_selectors.membership_get(user=request.user, organisation=organisation)  # an admin's seat
    return render(
        request,
        "cards/org_members.html",
        {
            "organisation": organisation,
            "members": _members(organisation),
            "me": mine,
            "is_owner": mine.role == Membership.Role.OWNER,
            "transfer_form": transfer_form or TransferForm(organisation=organisation, owner=request.user),
        },
        status=status,
    )


@login_required
def org_members(request, org_slug):
    return _page(request, administered(request, org_slug))


@login_required
@require_POST
def org_member_role(request, org_slug, pk):
    organisation = administered(request, org_slug)
    membership = _member(organisation, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose member or admin."))
        return redirect("cards:org_members", org_slug=org_slug)
    try:
        accounts_services.membership_role_set(
            membership=membership, role=form.cleaned_data["role"], actor=request.user, request=request
        )
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {
                "name": membership.user.get_full_name(),
                "role": Membership.Role(form.cleaned_data["role"]).label,
            },
        )
    return redirect("cards:org_members", org_slug=org_slug)


@login_required
@require_POST
def org_member_remove(request, org_slug, pk):
    organisation = administered(request, org_slug)
    membership = _member(organisation, pk)
    try:
        facts = accounts_services.membership_remove(
            membership=membership, actor=request.user, request=request
        )
    except ValidationError as error:
        _report(request, error)
    else:
        if membership.user_id == request.user.pk:
            messages.success(request, _("You left %(organisation)s.") % {"organisation": organisation.name})
            return redirect("cards:home")
        messages.success(
            request,
            " ".join(
                m
                for m in (
                    _("%(name)s is no longer a member.") % {"name": membership.user.get_full_name()},
                    str(CARD_OUTCOME[facts.get("card", "none")]),
                )
                if m
            ),
        )
    return redirect("cards:org_members", org_slug=org_slug)


@login_required
@require_POST
def org_transfer(request, org_slug):
    organisation = administered(request, org_slug)
    form = TransferForm(request.POST, organisation=organisation, owner=request.user)
    if not form.is_valid():  # unconfirmed, or a seat that is not of this organisation
        return _page(request, organisation, transfer_form=form, status=400)
    try:
        new_owner = accounts_services.organisation_ownership_transfer(
            organisation=organisation,
            new_owner=form.cleaned_data["new_owner"],
            actor=request.user,
            request=request,
        )
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(
            request,
            _("%(name)s is now the owner of %(organisation)s.")
            % {"name": new_owner.user.get_full_name(), "organisation": organisation.name},
        )
    return redirect("cards:org_members", org_slug=org_slug)


@login_required
@require_POST
def org_leave(request, org_slug):
    """Any member may leave (the owner transfers the ownership first); the card follows the org's choice."""
    membership = (
        Membership.objects.select_related("organisation")
        .filter(organisation__slug=org_slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404
    organisation = membership.organisation
    try:
        accounts_services.membership_remove(membership=membership, actor=request.user, request=request)
    except ValidationError as error:
        _report(request, error)
        return redirect("cards:home")
    messages.success(request, _("You left %(organisation)s.") % {"organisation": organisation.name})
    return redirect("cards:home")


@login_required
def org_card(request, org_slug, slug):
    """The central member editor: job details (sent to the directory when it feeds them) and assignment."""
    organisation = administered(request, org_slug)
    card = get_object_or_404(Card, organisation=organisation, slug=slug)
    form = MemberCardForm(request.POST or None, card=card, initial=MemberCardForm.initial_for(card))
    if request.method == "POST" and form.is_valid():
        try:
            services.card_admin_edit(
                card=card,
                actor=request.user,
                template=form.cleaned_data["template"],
                groups=form.cleaned_data["groups"].split(","),
                changes=form.changes(),
                active=request.POST["active"] == "1" if "active" in request.POST else None,
            )
        except ValidationError as error:
            fields = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            for name, problems in fields.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            messages.success(request, _("The card was updated."))
            return redirect("cards:org_card", org_slug=org_slug, slug=slug)
    return render(
        request,
        "cards/org_card.html",
        {"organisation": organisation, "card": card, "form": form},
        status=400 if form.errors else 200,
    )
