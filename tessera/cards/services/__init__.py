"""Writes of the cards product. Every interface (views, API, imports) goes through these functions."""

import csv
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
from datetime import timedelta

import httpx
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership, Organisation, User
from tessera.accounts.selectors import is_member_email, is_org_admin, membership_role
from tessera.core import delivery as durable
from tessera.core import outbound, spreadsheet
from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.core.ratelimit import limit_hit

from . import formats, images, pow
from .fields import LEAD_DETAILS, LEAD_FOLLOW_UP, LEAD_LIMITS, TEXT_LIMITS
from .models import (
    LOCKABLE,
    VISIBILITY_FIELDS,
    Card,
    CardInvitation,
    CardsSettings,
    CardTemplate,
    Lead,
    LeadWebhook,
    Visibility,
    WebhookDelivery,
)
from .selectors import (
    card_locked_values,
    card_profile,
    card_template_for,
    leads_shared,
    owner_restricted,
    template_selecting_fields,
)

log = logging.getLogger(__name__)

PHONE_KINDS = ("work", "mobile", "personal")
EMAIL_KINDS = ("work", "personal")
MAX_ITEMS = 10
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_url = URLValidator(schemes=["http", "https"])
# The version of the consent text shown next to the exchange form's checkbox; change it with the text.
LEAD_CONSENT_VERSION = "cards.lead-exchange.v1"


def consent_text() -> str:
    return _(
        "I agree that the card's owner and their organisation receive these details to get back to me. "
        "I receive a copy by email. Nothing is shared with anyone else."
    )


# --- validation -------------------------------------------------------------------------------------


def phone_normalise(value: str) -> str:
    """E.164 or a ValidationError with a message people understand."""
    message = _(
        "“%(value)s” is not a valid phone number. Use the international format, e.g. +33 6 12 34 56 78."
    )
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise ValidationError(message % {"value": value}, code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(message % {"value": value}, code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def url_normalise(value: str) -> str:
    value = value.strip()
    try:
        _url(value)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid web address. It must start with https:// or http://.")
            % {"value": value},
            code="url",
        ) from None
    return value


def _at_most_characters(limit: int) -> str:
    return ngettext("At most %(limit)s character.", "At most %(limit)s characters.", limit) % {"limit": limit}


def _text(value, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(_("This field must be text."), code="type")
    value = value.strip()
    if "\x00" in value:
        raise ValidationError(_("This field contains a forbidden character."), code="nul")
    if len(value) > TEXT_LIMITS.get(name, 200):
        raise ValidationError(_at_most_characters(TEXT_LIMITS.get(name, 200)), code="length")
    return value


def _items(value, name: str, clean) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise ValidationError(_("This field must be a list."), code="type")
    if len(value) > MAX_ITEMS:
        raise ValidationError(
            ngettext("At most %(n)s entry.", "At most %(n)s entries.", MAX_ITEMS) % {"n": MAX_ITEMS},
            code="too_many",
        )
    return [clean(item) for item in value]


def _phone_item(item: dict) -> dict:
    kind = item.get("kind", "work")
    if kind not in PHONE_KINDS:
        raise ValidationError(_("Unknown phone type “%(kind)s”.") % {"kind": kind}, code="kind")
    return {
        "kind": kind,
        "number": phone_normalise(str(item.get("number", ""))),
        "public": bool(item.get("public", True)),
    }


def _email_item(item: dict) -> dict:
    kind = item.get("kind", "work")
    if kind not in EMAIL_KINDS:
        raise ValidationError(_("Unknown email type “%(kind)s”.") % {"kind": kind}, code="kind")
    address = str(item.get("address", "")).strip()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not a valid email address.") % {"value": address}, code="email"
        ) from None
    return {"kind": kind, "address": address.lower(), "public": bool(item.get("public", True))}


def _link_item(item: dict) -> dict:
    label = _text(str(item.get("label", "")), "label")
    if not label:
        raise ValidationError(_("Each link needs a label."), code="label")
    return {
        "label": label,
        "url": url_normalise(str(item.get("url", ""))),
        "public": bool(item.get("public", True)),
    }


def _custom_item(item: dict) -> dict:
    label = _text(str(item.get("label", "")), "label")
    value = _text(str(item.get("value", "")), "value")
    if not label or not value:
        raise ValidationError(_("Each custom field needs a label and a value."), code="custom")
    return {"label": label, "value": value, "public": bool(item.get("public", True))}


def profile_clean(changes: dict) -> dict:
    """Validate profile changes from any interface; raises one ValidationError naming every bad field."""
    cleaned, errors = {}, {}
    for name, value in changes.items():
        try:
            if name in TEXT_LIMITS:
                cleaned[name] = _text(value, name)
                if name == "website" and cleaned[name]:
                    cleaned[name] = url_normalise(cleaned[name])
            elif name == "phones":
                cleaned[name] = _items(value, name, _phone_item)
            elif name == "emails":
                cleaned[name] = _items(value, name, _email_item)
            elif name == "links":
                cleaned[name] = _items(value, name, _link_item)
            elif name == "custom_fields":
                cleaned[name] = _items(value, name, _custom_item)
            elif name == "visibility":
                if not isinstance(value, dict) or not all(
                    k in VISIBILITY_FIELDS and v in Visibility.values for k, v in value.items()
                ):
                    raise ValidationError(_("Unknown field or visibility."), code="visibility")
                cleaned[name] = dict(value)
            else:
                raise ValidationError(_("Unknown field."), code="unknown")
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


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


# --- organisations, cards, invitations ---------------------------------------------------------------


def account_names(user: User) -> dict:
    """First and last name for a new card, from the account's full name (the first word is the first name)."""
    first, _space, last = " ".join(user.full_name.split()).partition(" ")
    return {"first_name": first[:80], "last_name": last[:80]}


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


@transaction.atomic
def card_update(*, card: Card, changes: dict, actor=None) -> Card:
    """Apply profile changes; fields locked by the organisation's template are refused, whoever asks.

    `actor` is who asks: the card's owner (or None, the same rights), an administrator of the card's
    organisation, or the organisation itself (an API key). Only the last two may change the department
    once templates are assigned by department.
    """
    card = Card.objects.select_for_update().get(pk=card.pk)
    cleaned = profile_clean(changes)
    _template_choice_check(card, cleaned, actor)
    _brand_lock_check(card, cleaned)
    for name, value in cleaned.items():
        setattr(card, name, value)
    card.save()
    return card


@transaction.atomic
def card_photo_set(*, card: Card, data: bytes, filename: str) -> Card:
    variants = images.photo_variants(data, filename)
    card.photo = variants["photo"]
    card.photo_small = variants["photo_small"]
    card.photo_version = secrets.token_hex(4)
    card.save(update_fields=["photo", "photo_small", "photo_version", "updated_at"])
    return card


@transaction.atomic
def card_photo_remove(*, card: Card) -> Card:
    card.photo, card.photo_small, card.photo_version = b"", b"", ""
    card.save(update_fields=["photo", "photo_small", "photo_version", "updated_at"])
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
    if active:
        card_activation_check(card=card)
    card.is_active = active
    card.save(update_fields=["is_active", "updated_at"])
    return card


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
        card.department = cleaned["department"]
        fields.append("department")
    card.template = template
    card.groups = [g.strip() for g in groups if g.strip()]
    card.save(update_fields=fields)
    return card


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_url(token: str, language: str) -> str:
    with translation.override(language):
        return settings.TESSERA_BASE_URL + reverse("cards:invitation_accept", args=[token])


@transaction.atomic
def invitation_create(
    *,
    organisation: Organisation,
    email: str,
    invited_by: User,
    first_name: str = "",
    last_name: str = "",
    job_title: str = "",
    department: str = "",
    role: str = Membership.Role.MEMBER,
    language: str = "fr",
) -> CardInvitation:
    """Invite someone into the organisation with a card: accounts' rules decide who may join, as what."""
    email = accounts_services.membership_invitation_check(
        organisation=organisation, email=email, role=role, invited_by=invited_by
    )
    if CardInvitation.objects.filter(
        organisation=organisation, email=email, accepted_at__isnull=True
    ).exists():
        raise ValidationError({"email": [_("%(email)s was already invited.") % {"email": email}]})
    profile = profile_clean(
        {"first_name": first_name, "last_name": last_name, "job_title": job_title, "department": department}
    )
    token = secrets.token_urlsafe(32)
    invitation = CardInvitation.objects.create(
        organisation=organisation,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        **profile,
    )
    email_queue_template(
        to=email,
        template="cards/email/invitation",
        context={
            "organisation": organisation.name,
            "inviter": invited_by.get_full_name(),
            "url": _invitation_url(token, language),
        },
        language=language,
        kind="cards_invitation",
        confidential=True,
    )
    return invitation


def invitation_by_token(token: str) -> CardInvitation | None:
    return (
        CardInvitation.objects.select_related("organisation")
        .filter(token_hash=_token_hash(token), accepted_at__isnull=True)
        .first()
    )


@transaction.atomic
def invitation_accept(
    *,
    invitation: CardInvitation,
    user: User | None = None,
    password: str = "",
    full_name: str = "",
    language: str = "fr",
) -> tuple[User, Card]:
    """Join the organisation; a new account is created when the invited address has none."""
    invitation = CardInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(_("This invitation was already used."))
    if user is None:
        user = accounts_services.user_create_invited(
            email=invitation.email, password=password, full_name=full_name, language=language
        )
    elif user.email.lower() != invitation.email:
        raise ValidationError(_("This invitation was sent to another address."))
    accounts_services.membership_join(organisation=invitation.organisation, user=user, role=invitation.role)
    card = Card.objects.filter(owner=user, organisation=invitation.organisation).first() or card_create(
        owner=user,
        organisation=invitation.organisation,
        # The names the admin typed, else the account's: a card without a name stays off the public web.
        **(
            {"first_name": invitation.first_name, "last_name": invitation.last_name}
            if invitation.first_name or invitation.last_name
            else account_names(user)
        ),
        job_title=invitation.job_title,
        department=invitation.department,
        company=invitation.organisation.name,
        yield_to_lock=True,
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user, card


IMPORT_COLUMNS = ("email", "first_name", "last_name", "job_title", "department", "role")
MAX_IMPORT_ROWS = 1000


def _csv_unreadable(reader) -> ValidationError:
    # The csv module refuses some files outright: a field over its 131,072-character limit, for one.
    return ValidationError(_("Line %(line)s of the file is not valid CSV.") % {"line": reader.line_num})


def _csv_rows(reader):
    try:
        yield from reader
    except csv.Error:
        raise _csv_unreadable(reader) from None


def invitations_import_preview(
    *, organisation: Organisation, csv_text: str, invited_by: User | None = None
) -> list[dict]:
    """Validate a CSV row by row without writing anything; every row carries its errors."""
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error:
        raise _csv_unreadable(reader) from None
    if "email" not in header:
        raise ValidationError(_("The file needs a header row with at least an “email” column."))
    unknown = set(header) - set(IMPORT_COLUMNS)
    if unknown:
        raise ValidationError(_("Unknown columns: %(columns)s.") % {"columns": ", ".join(sorted(unknown))})
    rows, seen = [], set()
    importer_role = membership_role(organisation=organisation, user=invited_by)
    for number, raw in enumerate(_csv_rows(reader), start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            raise ValidationError(
                ngettext("At most %(n)s row per import.", "At most %(n)s rows per import.", MAX_IMPORT_ROWS)
                % {"n": MAX_IMPORT_ROWS}
            )
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        values = {c: row.get(c, "") for c in IMPORT_COLUMNS}
        values["email"] = values["email"].lower()
        values["role"] = values["role"] or Membership.Role.MEMBER
        errors = []
        try:
            validate_email(values["email"])
        except ValidationError:
            errors.append(_("“%(value)s” is not a valid email address.") % {"value": values["email"]})
        if values["role"] not in (Membership.Role.MEMBER, Membership.Role.ADMIN):
            errors.append(_("The role must be member or admin."))
        elif values["role"] == Membership.Role.ADMIN and importer_role != Membership.Role.OWNER:
            errors.append(_("Only the owner can invite administrators."))
        try:
            profile_clean({k: values[k] for k in ("first_name", "last_name", "job_title", "department")})
        except ValidationError as error:
            errors += [f"{k}: {m}" for k, ms in error.message_dict.items() for m in ms]
        if values["email"] in seen:
            errors.append(_("This address appears twice in the file."))
        elif is_member_email(organisation=organisation, email=values["email"]):
            errors.append(_("Already a member."))
        elif CardInvitation.objects.filter(
            organisation=organisation, email=values["email"], accepted_at__isnull=True
        ).exists():
            errors.append(_("Already invited."))
        seen.add(values["email"])
        rows.append({"line": number, **values, "errors": errors})
    if not rows:
        raise ValidationError(_("The file has no rows."))
    return rows


@transaction.atomic
def invitations_import(
    *, organisation: Organisation, csv_text: str, invited_by: User, language: str = "fr"
) -> list:
    """Create every invitation of a previewed file, or none when any row is invalid."""
    rows = invitations_import_preview(organisation=organisation, csv_text=csv_text, invited_by=invited_by)
    bad = [row for row in rows if row["errors"]]
    if bad:
        raise ValidationError(
            ngettext(
                "%(n)s row has errors; fix the file and preview it again. Nothing was created.",
                "%(n)s rows have errors; fix the file and preview it again. Nothing was created.",
                len(bad),
            )
            % {"n": len(bad)}
        )
    return [
        invitation_create(
            organisation=organisation,
            invited_by=invited_by,
            language=language,
            **{k: row[k] for k in IMPORT_COLUMNS},
        )
        for row in rows
    ]


# --- templates ---------------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def _template_clean(values: dict) -> dict:
    errors = {}
    for name in ("primary_colour", "background_colour", "text_colour"):
        if name in values and not COLOUR.match(values[name] or ""):
            errors[name] = [_("Use a colour like #1a2b3c.")]
    if not errors and {"primary_colour", "background_colour", "text_colour"} <= set(values):
        background = values["background_colour"]
        for name in ("text_colour", "primary_colour"):
            if contrast_ratio(values[name], background) < 4.5:
                errors[name] = [
                    _("Not enough contrast with the background (%(ratio)s:1; WCAG AA needs 4.5:1).")
                    % {"ratio": round(contrast_ratio(values[name], background), 2)}
                ]
        if contrast_ratio(values["primary_colour"], "#ffffff") < 4.5:
            errors.setdefault("primary_colour", []).append(
                _("White text on this colour is not readable enough (WCAG AA needs 4.5:1).")
            )
    if "layout" in values and values["layout"] not in CardTemplate.Layout.values:
        errors["layout"] = [_("Unknown layout.")]
    if "font" in values and values["font"] not in CardTemplate.Font.values:
        errors["font"] = [_("Unknown font.")]
    locked = values.get("locked_values", {})
    if not isinstance(locked, dict) or set(locked) - set(LOCKABLE):
        errors["locked_values"] = [_("Only these fields can be locked: %(f)s.") % {"f": ", ".join(LOCKABLE)}]
    else:
        try:
            values["locked_values"] = profile_clean(locked) if locked else {}
        except ValidationError as error:
            errors["locked_values"] = [f"{k}: {m}" for k, ms in error.message_dict.items() for m in ms]
    if "name" in values and not (values["name"] or "").strip():
        errors["name"] = [_("Give the template a name.")]
    for key in ("departments", "groups"):
        if key in values:
            values[key] = [v.strip() for v in values[key] if v.strip()]
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def template_save(
    *,
    organisation: Organisation,
    template: CardTemplate | None = None,
    logo: tuple[bytes, str] | None = None,
    **values,
) -> CardTemplate:
    values = _template_clean(values)
    if template is None:
        template = CardTemplate(organisation=organisation)
    elif template.organisation_id != organisation.pk:
        raise ValidationError(_("This template belongs to another organisation."))
    for name, value in values.items():
        setattr(template, name, value)
    if logo is not None:
        template.logo = images.logo_png(*logo)
    if template.is_default:
        CardTemplate.objects.filter(organisation=organisation).exclude(pk=template.pk).update(
            is_default=False
        )
    template.save()
    return template


@transaction.atomic
def template_delete(*, template: CardTemplate) -> None:
    template.delete()


# --- leads -------------------------------------------------------------------------------------------


def _lead_clean(data: dict) -> dict:
    errors, cleaned = {}, {}
    name = str(data.get("name", "")).strip()
    if not name:
        errors["name"] = [_("Please give your name.")]
    elif len(name) > LEAD_LIMITS["name"]:
        errors["name"] = [_at_most_characters(LEAD_LIMITS["name"])]
    cleaned["name"] = name
    email = str(data.get("email", "")).strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Please give a valid email address.")]
    cleaned["email"] = email
    phone = str(data.get("phone", "")).strip()
    if phone:
        try:
            phone = phone_normalise(phone)
        except ValidationError as error:
            errors["phone"] = error.messages
    cleaned["phone"] = phone
    for key in ("company", "job_title", "message"):
        value = str(data.get(key, "")).strip()
        if len(value) > LEAD_LIMITS[key]:
            errors[key] = [_at_most_characters(LEAD_LIMITS[key])]
        cleaned[key] = value
    if not data.get("consent"):
        errors["consent"] = [_("Please tick the box to agree, or your details cannot be sent.")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _consent_record(*, lead: Lead, card: Card) -> str:
    """The consent goes to the privacy core's ledger, with the exact text the visitor saw."""
    from tessera.privacy.services import consent_record

    entry = consent_record(
        email=lead.email,
        purpose="lead_form",
        text=consent_text(),
        text_version=LEAD_CONSENT_VERSION,
        method="checkbox",
        context=f"card:{card.slug}",
    )
    return str(entry.pk)


# Exchanges per card, counted once the proof of work passed: junk posts cannot close a card's form.
EXCHANGE_CARD_LIMIT = (30, 3600)


class ExchangeLimited(Exception):
    """The card took as many exchanges as it accepts for now; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


@transaction.atomic
def lead_capture(
    *, card: Card, data: dict, challenge: str, nonce: str, language: str = "fr", now=None
) -> Lead:
    """Store a visitor's details for the card's owner, email both, and queue the organisation's webhooks.

    Raises ExchangeLimited when the card already took its share of exchanges with a valid proof of work.
    """
    now = now or timezone.now()
    if not card.is_active or owner_restricted(owner_id=card.owner_id):
        raise ValidationError({"__all__": [_("This card does not accept contact details.")]})
    cleaned = _lead_clean(data)
    try:
        pow.challenge_redeem(challenge=challenge, nonce=nonce, scope=f"card:{card.slug}")
    except pow.ProofOfWorkError as error:
        raise ValidationError({"__all__": [str(error)]}) from None
    limit, period = settings.TESSERA_RATE_LIMITS.get("cards.exchange.card", EXCHANGE_CARD_LIMIT)
    verdict = limit_hit(scope="cards.exchange.card", key=card.slug, limit=limit, period=period)
    if not verdict.allowed:
        raise ExchangeLimited(verdict.retry_after)
    lead = Lead.objects.create(
        card=card,
        owner_id=card.owner_id,
        organisation_id=card.organisation_id,
        language=language,
        consent_version=LEAD_CONSENT_VERSION,
        created_at=now,
        last_contact_at=now,
        **cleaned,
    )
    lead.consent_record_id = _consent_record(lead=lead, card=card)
    lead.save(update_fields=["consent_record_id"])
    profile_name = card.title
    email_queue_template(
        to=lead.email,
        template="cards/email/exchange_visitor",
        context={"card_name": profile_name, "visitor": lead.name, "url": formats.card_url(card, "link")},
        language=language,
        kind="cards_exchange_visitor",
        attachments=((formats.vcard_filename(card), formats.card_vcard(card), "text/vcard; charset=utf-8"),),
    )
    owner = card.owner
    with translation.override(owner.language or settings.LANGUAGE_CODE):
        leads_url = settings.TESSERA_BASE_URL + reverse("cards:lead_detail", args=[lead.pk])
    email_queue_template(
        to=owner.email,
        template="cards/email/exchange_owner",
        context={"lead": lead, "url": leads_url},
        language=owner.language or settings.LANGUAGE_CODE,
        kind="cards_exchange_owner",
    )
    if card.organisation_id:
        webhooks_queue(organisation_id=card.organisation_id, lead=lead)
    from .analytics import stat_count

    transaction.on_commit(lambda: stat_count(card_id=card.pk, counter="exchanges"))
    return lead


def tags_parse(value) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    tags = []
    for tag in value:
        tag = str(tag).strip()[:40]
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:20]


@transaction.atomic
def lead_update(*, lead: Lead, notes: str | None = None, tags=None, status: str | None = None) -> Lead:
    fields = []
    if notes is not None:
        if len(notes) > 5000:
            raise ValidationError({"notes": [_at_most_characters(5000)]})
        lead.notes = notes
        fields.append("notes")
    if tags is not None:
        lead.tags = tags_parse(tags)
        fields.append("tags")
    if status is not None:
        if status not in Lead.Status.values:
            raise ValidationError({"status": [_("Unknown status.")]})
        if status != lead.status:
            lead.last_contact_at = timezone.now()
            fields.append("last_contact_at")
        lead.status = status
        fields.append("status")
    if fields:
        lead.save(update_fields=fields)
    return lead


@transaction.atomic
def lead_delete(*, lead: Lead) -> None:
    lead.delete()


LEADS_CSV_COLUMNS = ("received", *LEAD_DETAILS, *LEAD_FOLLOW_UP)


def leads_csv(leads) -> str:
    return spreadsheet.csv_text(
        (
            [
                lead.created_at.isoformat(),
                *(getattr(lead, k) for k in LEAD_DETAILS),
                lead.status,
                ", ".join(lead.tags),
                lead.notes,
            ]
            for lead in leads
        ),
        header=LEADS_CSV_COLUMNS,
    )


def lead_payload(lead: Lead) -> dict:
    return {
        "id": str(lead.pk),
        "card": lead.card.slug,
        "owner_email": lead.owner.email,
        **{name: getattr(lead, name) for name in LEAD_DETAILS},
        "status": lead.status,
        "tags": lead.tags,
        "created_at": lead.created_at.isoformat(),
    }


# --- webhooks ----------------------------------------------------------------------------------------

WEBHOOK_MAX_ATTEMPTS = 12
# A delivery left in "sending" this long was claimed by a worker that died: it is due again.
WEBHOOK_CLAIM_TIMEOUT = timedelta(minutes=5)
# Claim, backoff, give-up and after-commit enqueue are the outbox's engine (tessera.core.delivery).
WEBHOOKS = durable.Channel(
    model=WebhookDelivery,
    task="tessera.cards.tasks.webhook_deliver_task",
    delivered=WebhookDelivery.Status.DELIVERED,
    delivered_at="delivered_at",
    given_up=WebhookDelivery.Status.FAILED,
    claim_timeout=WEBHOOK_CLAIM_TIMEOUT,
    max_attempts=WEBHOOK_MAX_ATTEMPTS,
    errors=(httpx.HTTPError,),
    related=("webhook", "lead"),
)


class LeadsNotShared(ValidationError):
    """The organisation keeps its members' leads from its administrators, so no webhook may carry them."""


def _webhook_log(*, action: str, webhook: LeadWebhook, actor, request) -> None:
    security_event_record(
        action=f"cards.webhook.{action}",
        actor=actor,
        request=request,
        data={"organisation": webhook.organisation_id, "webhook": webhook.pk},
    )


@transaction.atomic
def webhook_create(
    *, organisation: Organisation, url: str, actor: User | None = None, request=None
) -> LeadWebhook:
    """Add a receiver of the organisation's new leads; its signing secret is on the returned hook only.

    Refused with a ValidationError for an address that is not public, and with LeadsNotShared while the
    organisation keeps its members' leads from its administrators. No `actor`: its API key made it.
    """
    url = url_normalise(url)
    try:
        outbound.url_check(url)
    except outbound.DestinationRefused as refused:
        raise ValidationError({"url": [str(refused)]}) from None
    if not leads_shared(organisation=organisation):
        raise LeadsNotShared(
            _("Webhooks carry leads: first let admins see the members' leads."), code="leads_not_shared"
        )
    hook = LeadWebhook.objects.create(organisation=organisation, url=url, secret=secrets.token_urlsafe(32))
    _webhook_log(action="created", webhook=hook, actor=actor, request=request)
    return hook


@transaction.atomic
def webhook_delete(*, webhook: LeadWebhook, actor: User | None = None, request=None) -> None:
    _webhook_log(action="deleted", webhook=webhook, actor=actor, request=request)  # while it has its id
    webhook.delete()


@transaction.atomic
def webhook_active_set(
    *, webhook: LeadWebhook, active: bool, actor: User | None = None, request=None
) -> None:
    """Pause or resume a hook; while paused, new leads queue no delivery for it."""
    LeadWebhook.objects.filter(pk=webhook.pk).update(is_active=active)
    webhook.is_active = active
    _webhook_log(action="resumed" if active else "paused", webhook=webhook, actor=actor, request=request)


@transaction.atomic
def webhook_ping(
    *, webhook: LeadWebhook, actor: User | None = None, request=None, now=None
) -> WebhookDelivery:
    """Queue a signed `ping` to the hook, through the same durable path as leads, to test a receiver."""
    now = now or timezone.now()
    ping = WebhookDelivery.objects.create(
        webhook=webhook,
        event="ping",
        payload={"event": "ping", "webhook": webhook.pk, "sent_at": now.isoformat()},
        created_at=now,
        next_attempt_at=now,
    )
    _webhook_log(action="pinged", webhook=webhook, actor=actor, request=request)
    durable.enqueue_on_commit(WEBHOOKS, ping.pk)
    return ping


def webhooks_queue(*, organisation_id: int, lead: Lead) -> list[WebhookDelivery]:
    if not leads_shared(organisation=organisation_id):
        return []  # the organisation did not choose to see its members' leads (or stopped)
    deliveries = [
        WebhookDelivery.objects.create(
            webhook=hook, lead=lead, payload={"event": "lead.created", "lead": lead_payload(lead)}
        )
        for hook in LeadWebhook.objects.filter(organisation_id=organisation_id, is_active=True)
    ]
    for queued in deliveries:
        durable.enqueue_on_commit(WEBHOOKS, queued.pk)
    return deliveries


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _delivery_restricted(delivery: WebhookDelivery) -> bool:
    """The lead it carries belongs to a restricted owner or a restricted visitor (a ping carries nobody)."""
    from tessera.privacy.models import ProcessingLimit
    from tessera.privacy.services import limit_active

    lead = delivery.payload.get("lead") if isinstance(delivery.payload, dict) else None
    if not lead:
        return False
    if delivery.lead_id and owner_restricted(owner_id=delivery.lead.owner_id):
        return True
    addresses = [a for a in (lead.get("email"), lead.get("owner_email")) if isinstance(a, str) and a]
    return any(limit_active(email=a, kinds=[ProcessingLimit.Kind.RESTRICTION]) for a in addresses)


def _webhook_post(delivery: WebhookDelivery, *, now, client: httpx.Client | None) -> None:
    """POST one signed delivery; raises an httpx.HTTPError unless the receiver answers 2xx."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Tessera-Webhook/1",
        "Tessera-Event": delivery.event,
        "Tessera-Delivery": str(delivery.pk),
        "Tessera-Signature": webhook_signature(
            secret=delivery.webhook.secret, timestamp=timestamp, body=body
        ),
    }
    # Only to public addresses, connected to the address that was checked (tessera.core.outbound).
    if client is None:
        with httpx.Client(timeout=10, follow_redirects=False) as own:
            response = outbound.post(delivery.webhook.url, content=body, headers=headers, client=own)
    else:
        response = outbound.post(delivery.webhook.url, content=body, headers=headers, client=client)
    if not 200 <= response.status_code < 300:
        raise httpx.HTTPStatusError(
            f"HTTP {response.status_code}", request=response.request, response=response
        )


def webhook_deliver(*, delivery_id, now=None, client: httpx.Client | None = None) -> bool:
    """POST one delivery if it is due; True if it was delivered by this call.

    On failure it stays pending with a backed-off next attempt, and is given up after
    WEBHOOK_MAX_ATTEMPTS. A delivery whose lead is under a restriction of processing is held, not sent,
    and goes out once the restriction is lifted (webhook_deliver_due releases it).
    """
    now = now or timezone.now()
    result = durable.attempt(
        WEBHOOKS,
        delivery_id,
        now=now,
        send=lambda delivery: _webhook_post(delivery, now=now, client=client),
        held=_delivery_restricted,
    )
    return result.outcome is durable.Outcome.DELIVERED


def webhook_deliveries_release(*, now=None) -> int:
    """Held deliveries whose restriction was lifted become due again (privacy sends no signal on a lift)."""
    held = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.HELD).select_related("lead")
    released = [d.pk for d in held.iterator() if not _delivery_restricted(d)]
    return durable.release(WEBHOOKS, released, now=now or timezone.now())


def webhook_deliver_due(*, now=None, limit: int = 100) -> int:
    now = now or timezone.now()
    webhook_deliveries_release(now=now)
    return sum(
        webhook_deliver(delivery_id=pk, now=now) for pk in durable.due_ids(WEBHOOKS, now=now, limit=limit)
    )


def template_for(card: Card) -> CardTemplate | None:
    return card_template_for(card)


# --- members leaving (accounts' `membership_removing` receiver) ------------------------------------------


def _card_hand_back(card: Card) -> None:
    """The card becomes the person's own: brand-locked values are kept as its values, its leads go along."""
    profile = card_profile(card)
    for name in LOCKABLE:
        setattr(card, name, profile[name])
    card.organisation, card.template, card.groups = None, None, []
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
