"""Processing activity of the contact form and its ticket desk (cards seed policy, section 3a)."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
)

from . import complaint_privacy, customer_privacy, services, testimonial_privacy
from .conf import RETENTION
from .models import Ticket, TicketMessage, TicketNote

SUPPORT = _("Contact and support")


def _retention(*, now) -> int:
    return services.tickets_expired_delete(now=now)


activities = [
    Activity(
        name="support.contact",
        service=SUPPORT,
        title=_("Contact form and support requests"),
        purpose=_(
            "Read and answer the requests sent through the contact form, and follow each one up by email "
            "until it is settled."
        ),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        legal_basis_detail=_(
            "Our legitimate interest in handling and answering the requests people send us."
        ),
        data_subjects=(_("People who write to us through the contact form"), _("Staff who answer them")),
        data_categories=(
            _("First and last name, phone number, email address and company, as given on the form"),
            _("Subject and messages of the request, and the language of the page"),
            _("Staff's answers, internal notes and who the request is assigned to"),
            _("Dates of the request, of its messages and of its closing"),
        ),
        fields={
            "support.Ticket": [
                "first_name",
                "last_name",
                "email",
                "phone",
                "company",
                "subject",
                "language",
                "assignee",
                "created_at",
                "last_message_at",
                "closed_at",
            ],
            "support.TicketMessage": ["body", "staff_author", "created_at"],
            "support.TicketNote": ["body", "author", "created_at"],
            "support.TicketLink": ["created_at"],
        },
        recipients=(STAFF,),
        retention=Retention(
            description=_(
                "3 years after the last message of a closed request (the CNIL's reference for prospects), "
                "then deleted with its thread, notes and links."
            ),
            period=RETENTION,
            apply=_retention,
        ),
        security_measures=(
            TLS,
            _("No cookie: a proof of work computed by the browser keeps robots out"),
            _("The follow-up link's token travels in the address's fragment; only its hash is stored"),
            _("Emails carrying a follow-up link are sealed in the outbox until they leave"),
            _("Every opening of a request by staff is written to the security log"),
        ),
    ),
    complaint_privacy.activity,
    testimonial_privacy.activity,
    customer_privacy.activity,
]

non_personal = {
    "support.Ticket": ["public_id", "status"],
    "support.TicketMessage": ["author"],
    "support.TicketLink": ["token_hash"],
    **complaint_privacy.non_personal,
    **testimonial_privacy.non_personal,
    **customer_privacy.non_personal,
}


def _iso(value) -> str:
    return value.isoformat() if value else ""


def export_subject(subject) -> list[ExportSection]:
    """The person's requests with their whole thread; staff's internal notes about them too (Art. 15)."""
    tickets = Ticket.objects.filter(email__iexact=subject.email).prefetch_related("messages", "notes")
    rows = [
        {
            "subject": t.subject,
            "first_name": t.first_name,
            "last_name": t.last_name,
            "email": t.email,
            "phone": t.phone,
            "company": t.company,
            "language": t.language,
            "status": t.status,
            "created_at": _iso(t.created_at),
            "last_message_at": _iso(t.last_message_at),
            "closed_at": _iso(t.closed_at),
            "messages": [
                {"from": m.author, "at": _iso(m.created_at), "text": m.body} for m in t.messages.all()
            ],
            "internal_notes": [{"at": _iso(n.created_at), "text": n.body} for n in t.notes.all()],
        }
        for t in tickets.order_by("created_at")
    ]
    return [
        ExportSection(activity="support.contact", category="contact requests", rows=rows),
        *complaint_privacy.export_subject(subject),
        *testimonial_privacy.export_subject(subject),
        *customer_privacy.export_subject(subject),
    ]


@transaction.atomic
def erase_subject(subject) -> list[ErasureOutcome]:
    """Delete the person's requests with their threads; staff's own answers to others stay, unsigned."""
    erased = services.tickets_of_email_delete(email=subject.email)
    if subject.user_ids:
        erased += TicketMessage.objects.filter(staff_author_id__in=subject.user_ids).update(staff_author=None)
        erased += TicketNote.objects.filter(author_id__in=subject.user_ids).update(author=None)
        erased += Ticket.objects.filter(assignee_id__in=subject.user_ids).update(assignee=None)
    return [
        ErasureOutcome(activity="support.contact", erased=erased),
        complaint_privacy.erase_subject(subject),
        testimonial_privacy.erase_subject(subject),
        customer_privacy.erase_subject(subject),
    ]


def inactivity_anonymise(*, user) -> None:
    """Hook of the accounts' anonymisation (privacy/accounts.py): the customer relationship ends."""
    testimonial_privacy.inactivity_anonymise(user=user)
    customer_privacy.inactivity_anonymise(user=user)


def policy_recipients(*, before):
    """Hook of the policy-change emails: senders of requests still in progress."""
    return (
        Ticket.objects.exclude(status=Ticket.Status.CLOSED)
        .filter(created_at__lte=before)
        .values_list("email", "language")
    )
