"""What cards keeps per organisation and member, following accounts' organisation and membership writes."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tessera.accounts.models import Membership, Organisation, User

from ..models import LOCKABLE, Card, CardsSettings, Lead
from ..selectors import card_profile
from .profiles import account_names, card_create


def organisation_cards_open(*, organisation: Organisation, owner: User) -> None:
    """Receiver of accounts' `organisation_created`: the cards settings row and the owner's card."""
    CardsSettings.objects.create(organisation=organisation)
    card_create(
        owner=owner,
        organisation=organisation,
        company=organisation.name,
        yield_to_lock=True,
        **account_names(owner),
    )


@transaction.atomic
def cards_settings_update(
    *, organisation: Organisation, admins_see_leads: bool, inactive_action: str, hand_back_cards: bool = False
) -> None:
    if inactive_action not in CardsSettings.InactiveAction.values:
        raise ValidationError({"inactive_action": [_("Choose delete or anonymise.")]})
    CardsSettings.objects.update_or_create(
        organisation=organisation,
        defaults={
            "admins_see_leads": admins_see_leads,
            "inactive_action": inactive_action,
            "hand_back_cards": hand_back_cards,
        },
    )


# --- members leaving (accounts' `membership_removing` receiver) ------------------------------------------


def _card_hand_back(card: Card) -> None:
    """The card becomes the person's own: brand-locked values are kept as its values, its leads go along."""
    profile = card_profile(card)
    for name in LOCKABLE:
        setattr(card, name, profile[name])
    card.organisation, card.template, card.groups = None, None, []
    card.directory_fields, card.directory_source, card.directory_off = [], "", ""
    card.directory_template = False
    card.save()
    Lead.objects.filter(card=card).update(organisation=None)


def member_cards_release(*, membership: Membership) -> dict:
    """Receiver of accounts' `membership_removing`: the leaving member's card is deactivated or handed back,
    as the organisation chose. Answers {"card": "deactivated" | "handed_back" | "none"}."""
    organisation = membership.organisation
    cards_settings = CardsSettings.objects.filter(organisation=organisation).first()
    outcome = "none"
    for card in Card.objects.select_for_update().filter(
        organisation=organisation, owner_id=membership.user_id
    ):
        if cards_settings is not None and cards_settings.hand_back_cards:
            _card_hand_back(card)
            outcome = "handed_back"
        else:
            card.is_active = False
            card.save(update_fields=["is_active", "updated_at"])
            outcome = "deactivated"
    return {"card": outcome}
