"""Leads: a visitor's details left on a card, with consent, and their follow-up by the card's owner."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tessera.core import pow, spreadsheet
from tessera.core.outbox import email_queue_template
from tessera.core.ratelimit import limit_hit

from .. import formats
from ..fields import LEAD_DETAILS, LEAD_FOLLOW_UP, LEAD_LIMITS
from ..models import Card, Lead
from ..selectors import owner_restricted
from .validation import at_most_characters, phone_normalise
from .webhooks import webhooks_queue

# The version of the consent text shown next to the exchange form's checkbox; change it with the text.
LEAD_CONSENT_VERSION = "cards.lead-exchange.v1"


def consent_text() -> str:
    return _(
        "I agree that the card's owner and their organisation receive these details to get back to me. "
        "I receive a copy by email. Nothing is shared with anyone else."
    )


def _lead_clean(data: dict) -> dict:
    errors, cleaned = {}, {}
    name = str(data.get("name", "")).strip()
    if not name:
        errors["name"] = [_("Please give your name.")]
    elif len(name) > LEAD_LIMITS["name"]:
        errors["name"] = [at_most_characters(LEAD_LIMITS["name"])]
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
            errors[key] = [at_most_characters(LEAD_LIMITS[key])]
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
    from ..analytics import stat_count

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
            raise ValidationError({"notes": [at_most_characters(5000)]})
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
