"""Processing activities of cards: profiles, leads, webhooks; their retention and rights handlers."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import User
from tessera.privacy import accounts as accounts_privacy
from tessera.privacy.register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
)
from tessera.privacy.retention import batched_delete

from . import fastpath
from .fields import LEAD_DETAILS, LEAD_FOLLOW_UP, PROFILE
from .models import Card, CardInvitation, CardsSettings, Lead, WebhookDelivery

CARDS = _("Cards")

# The inactivity rule is the accounts' (privacy/accounts.py); cards add card views and the company's choice.
INACTIVITY_WARNING, INACTIVITY_LIMIT, WARNING_NOTICE = (
    accounts_privacy.INACTIVITY_WARNING,
    accounts_privacy.INACTIVITY_LIMIT,
    accounts_privacy.WARNING_NOTICE,
)
LEAD_RETENTION = timedelta(days=3 * 365)
INVITATION_RETENTION = timedelta(days=30)
WEBHOOK_RETENTION = timedelta(days=30)

PROFILE_FIELDS = ["owner", *PROFILE, "groups", "photo", "photo_small", "last_viewed_at"]


def inactivity_last_seen(*, user_ids) -> dict:
    """Hook of the accounts' inactivity rule: a view of one of the person's cards is activity."""
    return dict(
        Card.objects.filter(owner_id__in=user_ids, last_viewed_at__isnull=False)
        .values("owner_id")
        .annotate(last=Max("last_viewed_at"))
        .values_list("owner_id", "last")
    )


def inactivity_choice(*, user: User) -> str | None:
    """Hook: the companies' choice for their members' inactive accounts; an individual's is deleted."""
    if not Card.objects.filter(owner=user).exists():
        return None
    choices = set(
        CardsSettings.objects.filter(organisation__cards__owner=user).values_list(
            "inactive_action", flat=True
        )
    )
    if (
        choices == {CardsSettings.InactiveAction.ANONYMISE}
        and not Card.objects.filter(owner=user, organisation__isnull=True).exists()
    ):
        return accounts_privacy.ANONYMISE
    return accounts_privacy.DELETE


def inactivity_anonymise(*, user: User) -> None:
    """Hook: clear the person from their cards; the organisation keeps the seat's leads."""
    Card.objects.filter(owner=user).update(
        **{
            name: ""
            for name in ("first_name", "last_name", "job_title", "bio", "website", "office", "street")
        },
        phones=[],
        emails=[],
        links=[],
        custom_fields=[],
        photo=b"",
        photo_small=b"",
        photo_version="",
        is_active=False,
    )
    fastpath.pages_invalidate_on_commit()  # a queryset update sends no signal


def account_anonymise(*, user: User) -> None:
    """Irreversibly remove the person from the account and cards (the accounts' anonymisation)."""
    accounts_privacy.account_anonymise(user=user)


def _old_leads(*, now) -> int:
    return batched_delete(Lead.objects.filter(last_contact_at__lt=now - LEAD_RETENTION).order_by())


def _lead_consents_without_lead(*, now) -> int:
    """A contact-exchange consent lives with its lead: once the lead is gone (3-year rule, deleted by
    its owner, with its card or account), the ledger entry holding the visitor's address goes too.

    A withdrawn entry holds no address any more; it follows the ledger's 5-year proof rule.
    """
    from tessera.privacy.models import ConsentRecord

    consents = ConsentRecord.objects.filter(
        purpose=ConsentRecord.Purpose.LEAD_FORM, withdrawn_at__isnull=True, given_at__lt=now
    ).order_by("pk")
    count, after = 0, None
    while True:
        page = consents if after is None else consents.filter(pk__gt=after)
        ids = list(page.values_list("pk", flat=True)[:1000])
        if not ids:
            return count
        after = ids[-1]
        # Leads name their entry as text; compare in Python so that every database agrees.
        alive = set(
            Lead.objects.filter(consent_record_id__in=[str(i) for i in ids]).values_list(
                "consent_record_id", flat=True
            )
        )
        gone = [i for i in ids if str(i) not in alive]
        if gone:
            count += batched_delete(ConsentRecord.objects.filter(pk__in=gone).order_by())


def _old_invitations(*, now) -> int:
    return batched_delete(CardInvitation.objects.filter(created_at__lt=now - INVITATION_RETENTION).order_by())


def _old_webhook_deliveries(*, now) -> int:
    return batched_delete(
        WebhookDelivery.objects.filter(
            status__in=[WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED],
            created_at__lt=now - WEBHOOK_RETENTION,
        ).order_by()
    )


activities = [
    Activity(
        name="cards.profile",
        service=CARDS,
        title=_("Digital business cards"),
        purpose=_(
            "Publish your business card at its address, as a vCard, a QR code and an NFC record, and let "
            "your organisation manage its members' cards."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_(
            "Needed to provide the card service to you or, for a company's members, to the company "
            "(we then act as its processor)."
        ),
        # Annex 1 of the data processing agreement lists this activity for the organisation's members' cards.
        processor_for=_("an organisation, for the cards of its members"),
        data_subjects=(_("Card holders: individual customers and members of customer organisations"),),
        data_categories=(
            _("Name, job title, company and department"),
            _("Photo, if you add one (stripped of its metadata)"),
            _("Work and personal phone numbers and email addresses, office location and postal address"),
            _("Website, social links, short bio and custom fields"),
            _("Date of the last view of the card"),
            _("Invitations: email address, name, job title and department set by your administrator"),
        ),
        fields={
            "cards.Card": PROFILE_FIELDS,
            "cards.CardInvitation": [
                "email",
                "first_name",
                "last_name",
                "job_title",
                "department",
                "role",
                "token_hash",
                "invited_by",
            ],
        },
        recipients=(
            _("Anyone with the card's address, for the fields you show on the public page"),
            _("People you give your vCard to, for the fields kept for the vCard"),
            _("Administrators of your organisation"),
            STAFF,
        ),
        retention=Retention(
            description=_(
                "While the account is used. After 23 months without sign-in and without any view of the "
                "card, a warning email is sent; after 24 months the account and its cards are deleted, or "
                "anonymised if the organisation chose so. Unused invitations are deleted after 30 days."
            ),
            period=INACTIVITY_LIMIT,
            # The 23/24-month rule itself is the accounts' one; cards plug into it through their hooks.
            apply=_old_invitations,
        ),
        security_measures=(
            TLS,
            _("Access restricted to the card holder and the organisation's administrators"),
            _("Deactivated cards answer “not found” at once"),
        ),
    ),
    Activity(
        name="cards.leads",
        service=CARDS,
        title=_("Contact exchange from a card"),
        purpose=_(
            "Hand the details a visitor chooses to leave on a card to the card's owner, send the visitor "
            "the owner's card by email, and notify the owner."
        ),
        legal_basis=LegalBasis.CONSENT,
        legal_basis_detail=_(
            "The visitor ticks an unticked box; the exact text and its version are kept in the consent "
            "ledger. The owner's notes, tags and status are the owner's follow-up of the contact."
        ),
        data_subjects=(_("Visitors of a card who exchange their details"),),
        data_categories=(
            _("Name, email address, phone number, company, job title and message"),
            _("Language, date of the exchange, version of the consent text"),
            _("The owner's notes, tags and follow-up status"),
        ),
        fields={
            "cards.Lead": [
                "owner",
                "card",
                *LEAD_DETAILS,
                "language",
                "consent_version",
                "consent_record_id",
                *LEAD_FOLLOW_UP,
                "created_at",
                "last_contact_at",
            ],
            "cards.WebhookDelivery": ["lead", "payload", "last_error"],
        },
        recipients=(
            _("The card's owner"),
            _("The owner's organisation and the tools it connects (webhook, API), only if it chose to"),
            STAFF,
        ),
        retention=Retention(
            description=_(
                "3 years after the last contact, then deleted, with the consent recorded for it. Webhook "
                "deliveries carrying a lead are deleted 30 days after they were delivered or abandoned."
            ),
            period=LEAD_RETENTION,
            apply=lambda *, now: (
                _old_leads(now=now) + _lead_consents_without_lead(now=now) + _old_webhook_deliveries(now=now)
            ),
        ),
        security_measures=(
            TLS,
            _("Visible only to the card's owner, and to the organisation's administrators if it chose to"),
            _("Webhooks signed with HMAC-SHA256"),
            _("Proof of work and rate limits against automated submissions"),
        ),
    ),
]

non_personal = {
    # Which fields a company directory feeds, its name, and why it keeps a card off: no value of the person.
    "cards.Card": [
        "slug",
        "photo_version",
        "directory_fields",
        "directory_source",
        "directory_off",
        "directory_template",
    ],
    # The look of a company's cards and what it sets for all members (company name, office address).
    "cards.CardTemplate": [
        "name",
        "primary_colour",
        "background_colour",
        "text_colour",
        "font",
        "layout",
        "logo",
        "locked_values",
        "departments",
        "groups",
    ],
    "cards.CardsSettings": ["inactive_action"],
    "cards.LeadWebhook": ["url", "secret"],
    "cards.WebhookDelivery": ["event", "status"],
}


def _lead_row(lead: Lead) -> dict:
    return {
        "card": lead.card.slug,
        **{name: getattr(lead, name) for name in LEAD_DETAILS},
        "consent_version": lead.consent_version,
        "received": lead.created_at.isoformat(),
        "last_contact": lead.last_contact_at.isoformat(),
    }


def export_subject(subject) -> list[ExportSection]:
    from tessera.privacy.register import ExportFile

    owned = list(Card.objects.filter(owner_id__in=subject.user_ids).select_related("organisation"))
    cards = [
        {
            "address": f"{settings.TESSERA_BASE_URL}/c/{card.slug}",
            "active": card.is_active,
            "organisation": card.organisation.name if card.organisation else "",
            **{
                name: getattr(card, name)
                for name in PROFILE_FIELDS
                if name not in ("owner", "photo", "photo_small", "last_viewed_at")
            },
            "has_photo": bool(card.photo_version),
            "photo_file": f"card-{card.slug}-photo.jpg" if card.photo else "",
            "last_viewed": card.last_viewed_at.isoformat() if card.last_viewed_at else "",
        }
        for card in owned
    ]
    # The photo as stored (512 px JPEG); the 256 px copy is derived from it.
    photos = [
        ExportFile(
            name=f"card-{card.slug}-photo.jpg",
            content=bytes(card.photo),
            content_type="image/jpeg",
            description=_("The photo of your card, as it is stored"),
        )
        for card in owned
        if card.photo
    ]
    as_visitor = [_lead_row(lead) for lead in Lead.objects.filter(email=subject.email).select_related("card")]
    received = [
        {**_lead_row(lead), "notes": lead.notes, "tags": lead.tags, "status": lead.status}
        for lead in Lead.objects.filter(owner_id__in=subject.user_ids).select_related("card")
    ]
    invitations = [
        {"organisation": i.organisation.name, "email": i.email, "sent": i.created_at.isoformat()}
        for i in CardInvitation.objects.filter(email=subject.email).select_related("organisation")
    ]
    return [
        ExportSection(activity="cards.profile", category="cards", rows=cards, files=photos),
        ExportSection(activity="cards.profile", category="card_invitations", rows=invitations),
        ExportSection(activity="cards.leads", category="details_you_exchanged", rows=as_visitor),
        ExportSection(activity="cards.leads", category="contacts_you_received", rows=received),
    ]


@transaction.atomic
def erase_subject(subject) -> list[ErasureOutcome]:
    visitor_leads = Lead.objects.filter(email=subject.email)
    deliveries = WebhookDelivery.objects.filter(lead__in=visitor_leads).delete()[0]
    deliveries += WebhookDelivery.objects.filter(payload__lead__email=subject.email).delete()[0]
    leads = visitor_leads.delete()[1].get("cards.Lead", 0)
    cards = Card.objects.filter(owner_id__in=subject.user_ids).delete()[1].get("cards.Card", 0)
    invitations = CardInvitation.objects.filter(email=subject.email).delete()[0]
    return [
        ErasureOutcome(activity="cards.profile", erased=cards + invitations),
        ErasureOutcome(activity="cards.leads", erased=leads + deliveries),
    ]


def policy_recipients(*, before):
    """Hook of the policy-change emails: visitors whose contact the card's owner has not answered yet."""
    return Lead.objects.filter(status=Lead.Status.NEW, created_at__lte=before).values_list(
        "email", "language"
    )
