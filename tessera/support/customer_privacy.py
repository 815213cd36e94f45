"""Processing activity of customer files (cards seed policy, section 3b); support/privacy.py registers it."""

from django.db.models import Q
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

from . import customer_services as services
from .customers import CustomerContact, CustomerFile, CustomerNote

ACTIVITY = "support.customer_files"


def _retention(*, now) -> int:
    return services.customer_files_expired_delete(now=now)


activity = Activity(
    name=ACTIVITY,
    service=_("Contact and support"),
    title=_("Customer files (relationship management)"),
    purpose=_(
        "Keep the administrative and operational file of each customer, an organisation or a person: "
        "contract and plan, seats, key dates, the people we deal with, and staff's internal notes."
    ),
    legal_basis=LegalBasis.CONTRACT,
    legal_basis_detail=_(
        "The contract with the customer; for the people we deal with at a customer and for internal notes, "
        "our legitimate interest in managing the customer relationship (GDPR Art. 6(1)(f))."
    ),
    data_subjects=(
        _("Individual customers"),
        _("People we deal with at a customer company"),
        _("Staff who write the notes"),
    ),
    data_categories=(
        _("Name and email address of the customer"),
        _("Plan, contract reference, seats, contract start, renewal date and end of the relationship"),
        _("Contacts: name, role, email address and phone number"),
        _("Internal notes of staff, with their author and date"),
    ),
    fields={
        "support.CustomerFile": [
            "user",
            "name",
            "email",
            "plan",
            "contract_reference",
            "seats",
            "contract_start",
            "renewal_date",
            "relationship_ended_at",
            "created_at",
            "updated_at",
        ],
        "support.CustomerContact": ["name", "role", "email", "phone", "created_at"],
        "support.CustomerNote": ["body", "author", "created_at"],
    },
    recipients=(STAFF,),
    retention=Retention(
        description=_(
            "For the whole customer relationship, then 3 years after it ends (the end of the contract, or "
            "the deletion of the organisation or account), then deleted with its contacts and notes."
        ),
        period=services.RETENTION,
        apply=_retention,
    ),
    security_measures=(
        TLS,
        _("Only staff with the customer-file permission can open a file; changing it needs another"),
        _("Every opening of a customer file by staff is written to the security log"),
        _("No payment data: card numbers and bank details are never stored"),
    ),
)

non_personal = {"support.CustomerFile": ["kind"]}


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _files(subject):
    """The person's own file: by their account, or by its address once the account is gone."""
    mine = Q(kind=CustomerFile.Kind.INDIVIDUAL, user__isnull=True, email__iexact=subject.email)
    if subject.user_ids:
        mine |= Q(user_id__in=subject.user_ids)
    return CustomerFile.objects.filter(mine)


def export_subject(subject) -> list[ExportSection]:
    """The person's customer file with staff's notes about it (Art. 15), and where they are a contact."""
    files = [
        {
            "name": f.name,
            "email": f.email,
            "plan": f.plan,
            "contract_reference": f.contract_reference,
            "seats": f.seats,
            "contract_start": _iso(f.contract_start),
            "renewal_date": _iso(f.renewal_date),
            "relationship_ended_at": _iso(f.relationship_ended_at),
            "created_at": _iso(f.created_at),
            "internal_notes": [{"at": _iso(n.created_at), "text": n.body} for n in f.notes.all()],
        }
        for f in _files(subject).prefetch_related("notes").order_by("pk")
    ]
    contacts = [
        {
            "customer": c.file.name,
            "name": c.name,
            "role": c.role,
            "email": c.email,
            "phone": c.phone,
            "added_at": _iso(c.created_at),
        }
        for c in CustomerContact.objects.filter(email__iexact=subject.email)
        .select_related("file")
        .order_by("pk")
    ]
    return [
        ExportSection(activity=ACTIVITY, category="customer_file", rows=files),
        ExportSection(activity=ACTIVITY, category="customer_contacts", rows=contacts),
    ]


def erase_subject(subject) -> ErasureOutcome:
    """The person's file goes with its notes; they leave other customers' contacts; staff notes unsigned."""
    erased = _files(subject).delete()[0]
    erased += CustomerContact.objects.filter(email__iexact=subject.email).delete()[0]
    if subject.user_ids:
        erased += CustomerNote.objects.filter(author_id__in=subject.user_ids).update(author=None)
    return ErasureOutcome(activity=ACTIVITY, erased=erased)


def inactivity_anonymise(*, user) -> None:
    """An account anonymised after 24 months without activity ends the individual's relationship."""
    services.customer_relationship_end(user=user)
