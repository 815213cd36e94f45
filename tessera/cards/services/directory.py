"""Cards kept in step with a company directory (Entra ID, Google Workspace, SCIM), through accounts' hooks.

The directory never imports cards: it calls `hooks.member_synced`, `directory_released` and
`organisation_templates`, whose receivers are here. A sync may touch 10,000 people in a row, so a person
costs a few queries: one read of their card (with its template's public id), one write when something
changed, and one read of a template only when the directory gives the card another one.
"""

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.accounts import hooks
from tessera.accounts.models import Membership, Organisation
from tessera.core.bulk import rows_update

from ..fastpath import pages_invalidate_on_commit
from ..fields import PROFILE_TEXTS
from ..models import Card, CardTemplate, DirectoryOff
from .validation import profile_clean

# What an administrator may change on a directory-fed card; the change is written back to the directory.
WRITABLE_BACK = ("job_title", "phones", "department", "office")
SOURCE_LIMIT = Card._meta.get_field("directory_source").max_length
# What the receiver compares besides the fed values.
STATE_FIELDS = (
    "owner_id",
    "organisation_id",
    "template_id",
    "is_active",
    "groups",
    "directory_fields",
    "directory_source",
    "directory_off",
    "directory_template",
)
# What a directory may feed, and so lock.
DIRECTORY_FIELDS = frozenset((*PROFILE_TEXTS, "phones", "emails"))


def _names_split(membership: Membership) -> dict:
    first, _space, last = " ".join(membership.user.full_name.split()).partition(" ")
    return {"first_name": first[:80], "last_name": last[:80]}


def _template_id(organisation_id: int, public_id) -> int | None:
    """The organisation's template with this public id; None for an unknown or deleted one."""
    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return (
        CardTemplate.objects.filter(organisation_id=organisation_id, public_id=public_id)
        .values_list("pk", flat=True)
        .first()
    )


def _template_plan(card: Card, template) -> dict:
    """A group's template is the card's explicit one; without one, only a template the directory gave goes."""
    if template is None:
        return {"template_id": None, "directory_template": False} if card.directory_template else {}
    if card.template_id and str(card.template_public_id) == str(template):
        return {"directory_template": True}
    template_id = _template_id(card.organisation_id, template)
    if template_id is None:  # the mapped template was deleted: the department, group or default one applies
        return {"template_id": None, "directory_template": False} if card.directory_template else {}
    return {"template_id": template_id, "directory_template": True}


def _active_plan(card: Card, active: bool | None) -> dict:
    """Disabled in the directory: off the public web. Enabled again: back on only if the directory hid it."""
    if active is None:
        return {}
    if not active:
        if card.directory_off:
            return {}
        if card.is_active:
            return {"is_active": False, "directory_off": DirectoryOff.HID}
        return {"directory_off": DirectoryOff.KEPT}  # the owner or an administrator had turned it off
    if card.directory_off == DirectoryOff.HID:
        return {"is_active": True, "directory_off": DirectoryOff.NONE}
    if card.directory_off:
        return {"directory_off": DirectoryOff.NONE}
    return {}


def _plan(card: Card, *, cleaned, locked, source, template, groups, active) -> dict:
    planned = dict(cleaned)
    if locked is not None:
        planned["directory_fields"] = sorted(set(locked))
        planned["directory_source"] = (source or "")[:SOURCE_LIMIT] if locked else ""
    if groups is not None:
        planned["groups"] = [g.strip() for g in groups if g and g.strip()]
    planned |= _template_plan(card, template)
    planned |= _active_plan(card, active)
    return {name: value for name, value in planned.items() if getattr(card, name) != value}


def member_card_sync(
    *,
    membership: Membership,
    values: dict,
    locked=None,
    source: str = "",
    template=None,
    groups=None,
    active: bool | None = True,
    dry_run: bool = False,
    **_ignored,
) -> str:
    """Receiver of accounts' `member_synced`: create or update the member's organisation card.

    Answers "created", "updated" or "unchanged"; raises ValidationError keyed by field, nothing written.
    """
    unknown = set(locked or ()) - DIRECTORY_FIELDS
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    cleaned = profile_clean(dict(values or {}))
    # Only the columns compared here, unordered: a sync reads this row for every person it sees.
    card = next(
        iter(
            Card.objects.select_for_update(of=("self",))
            .only(*STATE_FIELDS, *cleaned)
            .annotate(template_public_id=F("template__public_id"))
            .filter(organisation_id=membership.organisation_id, owner_id=membership.user_id)
            .order_by()[:1]
        ),
        None,
    )
    created = card is None
    if created:
        card = Card(
            owner_id=membership.user_id,
            organisation_id=membership.organisation_id,
            company=membership.organisation.name[:120],
            **_names_split(membership),
        )
        card.template_public_id = None
    changes = _plan(
        card, cleaned=cleaned, locked=locked, source=source, template=template, groups=groups, active=active
    )
    if dry_run:
        return "created" if created else "updated" if changes else "unchanged"
    if not created and not changes:
        return "unchanged"
    for name, value in changes.items():
        setattr(card, name, value)
    if created:
        card.slug = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
        card.save(force_insert=True)
        return "created"
    card.save(update_fields=[*changes, "updated_at"])
    hooks.member_profile_changed.send(card_owner_id=card.owner_id, organisation_id=card.organisation_id)
    return "updated"


def member_values_check(*, values: dict, locked=None, **_ignored) -> dict:
    """Receiver of `member_values_check`: the values cleaned as a sync would store them, nothing written."""
    unknown = set(locked or ()) - DIRECTORY_FIELDS
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    return profile_clean(dict(values or {}))


def members_cards_create(*, organisation: Organisation, items: list, source: str = "", **_ignored) -> None:
    """Receiver of `members_created`: the cards of many new members in one insert (a bulk sync's page).

    Each item's values were checked by `member_values_check`; a person the directory disables gets a card
    off the public web, which comes back when the directory enables them.
    """
    company = organisation.name[:120]
    cards = []
    for item in items:
        locked = sorted(set(item.get("locked") or ()))
        card = Card(
            owner_id=item["user_id"],
            organisation_id=organisation.pk,
            company=company,
            slug=secrets.token_urlsafe(9).replace("-", "x").replace("_", "y"),
            directory_fields=locked,
            directory_source=(source or "")[:SOURCE_LIMIT] if locked else "",
        )
        for name, value in item["values"].items():
            setattr(card, name, value)
        if not item.get("active", True):
            card.is_active, card.directory_off = False, DirectoryOff.HID
        cards.append(card)
    Card.objects.bulk_create(cards, batch_size=500)
    pages_invalidate_on_commit()  # a bulk insert sends no signal


def members_cards_sync(
    *, organisation: Organisation, items: list, source: str = "", dry_run: bool = False, **_ignored
) -> dict:
    """Receiver of `members_synced`: `member_card_sync` for many members, with one read and one write.

    Each item is {"user_id", "values" (checked), "locked", "template", "groups", "active"}; answers
    {user id: "created" | "updated" | "unchanged"}.
    """
    cards = {
        card.owner_id: card
        for card in Card.objects.select_for_update(of=("self",))
        .annotate(template_public_id=F("template__public_id"))
        .filter(organisation=organisation, owner_id__in=[item["user_id"] for item in items])
        .order_by()
    }
    answers, changed, fields, created = {}, [], set(), []
    now = timezone.now()
    for item in items:
        card = cards.get(item["user_id"])
        if card is None:
            card = Card(
                owner_id=item["user_id"], organisation_id=organisation.pk, company=organisation.name[:120]
            )
            card.template_public_id = None
            card.slug = secrets.token_urlsafe(9).replace("-", "x").replace("_", "y")
        changes = _plan(
            card,
            cleaned=item["values"],
            locked=item.get("locked"),
            source=source,
            template=item.get("template"),
            groups=item.get("groups"),
            active=item.get("active"),
        )
        if card.pk is None:
            answers[item["user_id"]] = "created"
        else:
            answers[item["user_id"]] = "updated" if changes else "unchanged"
        if dry_run or (card.pk is not None and not changes):
            continue
        for name, value in changes.items():
            setattr(card, name, value)
        if card.pk is None:
            created.append(card)
        else:
            card.updated_at = now
            changed.append(card)
            fields.update(changes)
    if not dry_run:
        Card.objects.bulk_create(created, batch_size=500)
        rows_update(Card, changed, [*sorted(fields), "updated_at"])
        if changed:
            hooks.member_profile_changed.send(
                card_owner_ids=[card.owner_id for card in changed], organisation_id=organisation.pk
            )
        if created or changed:
            pages_invalidate_on_commit()  # bulk writes send no signal
    return answers


def directory_cards_release(*, organisation: Organisation, source: str, **_ignored) -> int:
    """Receiver of `directory_released`: the fields that directory fed become the members' own again.

    A card the directory turned off stays off, but its owner or an administrator may publish it again.
    """
    return Card.objects.filter(organisation=organisation, directory_source=source[:SOURCE_LIMIT]).update(
        directory_fields=[], directory_source="", directory_off=DirectoryOff.NONE, directory_template=False
    )


def organisation_templates_list(*, organisation: Organisation, **_ignored) -> list[tuple[str, str]]:
    """Receiver of `organisation_templates`: the templates a directory group may give, as (public id, name)."""
    return [
        (str(public_id), name)
        for public_id, name in CardTemplate.objects.filter(organisation=organisation)
        .order_by("name")
        .values_list("public_id", "name")
    ]
