"""Card writes: create, update, photo, publication and an administrator's assignment."""

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tessera.accounts import hooks
from tessera.accounts.models import Membership, Organisation, User
from tessera.accounts.selectors import is_org_admin

from .. import images
from ..models import Card, CardTemplate
from ..selectors import card_locked_values, template_selecting_fields
from .directory import WRITABLE_BACK
from .validation import profile_clean


def _brand_lock_check(card: Card, cleaned: dict, locked: dict | None = None) -> None:
    locks = [card_locked_values(card) if locked is None else locked]
    if "department" in cleaned and not card.template_id and cleaned["department"] != card.department:
        # The new department may bring another template: its locks hold for this change too.
        moved = Card(
            organisation_id=card.organisation_id, department=cleaned["department"], groups=card.groups
        )
        locks.append(card_locked_values(moved))
    refused = {
        name: [_("Your organisation sets this field; it cannot be changed on your card.")]
        for name, value in cleaned.items()
        if any(name in lock for lock in locks)
        and value != getattr(card, name)
        and value not in [lock[name] for lock in locks if name in lock]
    }
    if refused:
        raise ValidationError(refused)


def acts_as_admin(*, actor, organisation_id: int | None) -> bool:
    """An administrator of the card's organisation, or the organisation itself (its API keys)."""
    if organisation_id is None or actor is None:
        return False
    if isinstance(actor, Organisation):
        return actor.pk == organisation_id
    return is_org_admin(user=actor, organisation=Organisation(pk=organisation_id))


def _template_choice_check(card: Card, cleaned: dict, actor) -> None:
    """A member cannot change the field that picks their template (and so escape its locks)."""
    fixed = {
        name
        for name in template_selecting_fields(organisation_id=card.organisation_id)
        if name in cleaned and cleaned[name] != getattr(card, name)
    }
    if fixed and not acts_as_admin(actor=actor, organisation_id=card.organisation_id):
        raise ValidationError(
            {
                name: [
                    _(
                        "Your organisation chooses card templates by department: only its administrators can change it."
                    )
                ]
                for name in fixed
            }
        )


def _directory_check(card: Card, cleaned: dict, actor) -> dict:
    """Changes to fields a directory feeds: refused, but for an administrator's change of WRITABLE_BACK.

    Answers the changes to write back to the directory. An API key (the organisation itself) is refused
    too: write-back starts from the central member editor, where a person answers for it.
    """
    fed = set(card.directory_fields)
    changed = {name: value for name, value in cleaned.items() if name in fed and value != getattr(card, name)}
    if not changed:
        return {}
    admin = isinstance(actor, User) and acts_as_admin(actor=actor, organisation_id=card.organisation_id)
    message = _("Kept in step with %(source)s: it cannot be changed here.") % {
        "source": card.directory_source or _("your organisation's directory")
    }
    refused = {name: [message] for name in changed if not (admin and name in WRITABLE_BACK)}
    if refused:
        raise ValidationError(refused)
    return changed


def _written_back(card: Card, changes: dict, actor) -> None:
    """An administrator's change of directory-fed fields goes to the directory, in this transaction."""
    membership = (
        Membership.objects.select_related("organisation", "user")
        .filter(organisation_id=card.organisation_id, user_id=card.owner_id)
        .first()
    )
    if membership is None:
        message = _("This person is no longer a member of the organisation.")
        raise ValidationError({name: [message] for name in changes})
    hooks.directory_fields_edited.send(membership=membership, changes=dict(changes), actor=actor)


def account_names(user: User) -> dict:
    """First and last name for a new card, from the account's full name (the first word is the first name)."""
    first, _space, last = " ".join(user.full_name.split()).partition(" ")
    return {"first_name": first[:80], "last_name": last[:80]}


def _new_slug() -> str:
    return secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")


@transaction.atomic
def card_create(
    *, owner: User, organisation: Organisation | None = None, yield_to_lock: bool = False, **profile
) -> Card:
    """Create a card. Fields the organisation locks are refused, or dropped with `yield_to_lock`."""
    if organisation is not None:
        if not Membership.objects.filter(organisation=organisation, user=owner).exists():
            raise ValidationError({"owner": [_("This person is not a member of the organisation.")]})
        if Card.objects.filter(organisation=organisation, owner=owner).exists():
            raise ValidationError({"owner": [_("This person already has a card in the organisation.")]})
    groups = profile.pop("groups", [])
    cleaned = profile_clean(profile)
    card = Card(owner=owner, organisation=organisation, slug=_new_slug(), groups=list(groups))
    card.department = cleaned.get("department", "")
    locked = card_locked_values(card)
    if yield_to_lock:
        cleaned = {k: v for k, v in cleaned.items() if k not in locked}
    _brand_lock_check(card, cleaned, locked)
    for name, value in cleaned.items():
        setattr(card, name, value)
    card.save()
    return card


class PersonalCardExists(ValidationError):
    """An account has one personal card (outside any organisation)."""


@transaction.atomic
def personal_card_create(*, owner: User) -> Card:
    """The account's personal card, named after the account; refused if it already has one."""
    User.objects.select_for_update().filter(pk=owner.pk).first()  # two clicks create one card, not two
    if Card.objects.filter(owner=owner, organisation__isnull=True).exists():
        raise PersonalCardExists(_("You already have a personal card."))
    return card_create(owner=owner, **account_names(owner))


@transaction.atomic
def card_update(*, card: Card, changes: dict, actor=None) -> Card:
    """Apply profile changes; fields locked by the organisation's template are refused, whoever asks.

    `actor` is who asks: the card's owner (or None, the same rights), an administrator of the card's
    organisation, or the organisation itself (an API key). Only the last two may change the department
    once templates are assigned by department. Fields a directory feeds are refused, except the job title,
    phones, department and office an administrator changes: those are handed to the directory's write-back.
    """
    card = Card.objects.select_for_update().get(pk=card.pk)
    cleaned = profile_clean(changes)
    _template_choice_check(card, cleaned, actor)
    _brand_lock_check(card, cleaned)
    written_back = _directory_check(card, cleaned, actor)
    for name, value in cleaned.items():
        setattr(card, name, value)
    card.save()
    if written_back:
        _written_back(card, written_back, actor)
    hooks.member_profile_changed.send(card_owner_id=card.owner_id, organisation_id=card.organisation_id)
    return card


@transaction.atomic
def card_photo_set(*, card: Card, data: bytes, filename: str) -> Card:
    variants = images.photo_variants(data, filename)
    card.photo = variants["photo"]
    card.photo_small = variants["photo_small"]
    card.photo_version = secrets.token_hex(4)
    card.save(update_fields=["photo", "photo_small", "photo_version", "updated_at"])
    hooks.member_profile_changed.send(card_owner_id=card.owner_id, organisation_id=card.organisation_id)
    return card


@transaction.atomic
def card_photo_remove(*, card: Card) -> Card:
    card.photo, card.photo_small, card.photo_version = b"", b"", ""
    card.save(update_fields=["photo", "photo_small", "photo_version", "updated_at"])
    hooks.member_profile_changed.send(card_owner_id=card.owner_id, organisation_id=card.organisation_id)
    return card


@transaction.atomic
def card_activation_check(*, card: Card) -> None:
    """Refuse to publish an organisation's card whose owner has left it: it is no longer theirs to show."""
    if not card.organisation_id:
        return
    if not Membership.objects.filter(organisation_id=card.organisation_id, user_id=card.owner_id).exists():
        message = _("The owner of this card is no longer a member of the organisation: it stays deactivated.")
        raise ValidationError({"is_active": [message]})


def card_set_active(*, card: Card, active: bool) -> Card:
    if active and card.directory_off:
        message = _("%(source)s disabled this person: the card stays off until they are enabled there.") % {
            "source": card.directory_source or _("Your organisation's directory")
        }
        raise ValidationError({"is_active": [message]})
    if active:
        card_activation_check(card=card)
    card.is_active = active
    card.save(update_fields=["is_active", "updated_at"])
    return card


@transaction.atomic
def card_admin_edit(
    *, card: Card, actor: User, template: CardTemplate | None, groups: list[str], changes: dict, active=None
) -> Card:
    """The central member editor: the member's job details (written back when a directory feeds them),
    then their template, groups and card state."""
    card = card_update(card=card, changes=changes, actor=actor)
    return card_assign(card=card, template=template, groups=groups, active=active)


@transaction.atomic
def card_assign(
    *,
    card: Card,
    template: CardTemplate | None,
    groups: list[str],
    department: str | None = None,
    active: bool | None = None,
) -> Card:
    """An administrator's choice of a member's template, groups, department and, if given, card state."""
    if template is not None and template.organisation_id != card.organisation_id:
        raise ValidationError({"template": [_("This template belongs to another organisation.")]})
    if active is not None:
        card_set_active(card=card, active=active)
    fields = ["template", "groups", "updated_at"]
    if department is not None:
        cleaned = profile_clean({"department": department})
        _brand_lock_check(card, cleaned)
        _directory_check(card, cleaned, None)
        card.department = cleaned["department"]
        fields.append("department")
    if card.template_id != (template.pk if template else None):
        card.directory_template = False  # an administrator's choice, which a directory without one keeps
        fields.append("directory_template")
    card.template = template
    card.groups = [g.strip() for g in groups if g.strip()]
    card.save(update_fields=fields)
    return card
