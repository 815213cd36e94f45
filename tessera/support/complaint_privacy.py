"""Processing activity of complaints (cards seed policy, section 3f); support/privacy.py registers it."""

from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportFile,
    ExportSection,
    LegalBasis,
    Retention,
)

from . import complaint_services as services
from .complaints import Complaint, ComplaintEvent

ACTIVITY = "support.complaints"
KEPT_REASON = _(
    "Kept for the limitation period of commercial claims (5 years after closure, Code de commerce L110-4; "
    "GDPR Art. 17(3)(e)), then deleted with its files."
)


def _retention(*, now) -> int:
    return services.complaints_expired_delete(now=now)


activity = Activity(
    name=ACTIVITY,
    service=_("Contact and support"),
    title=_("Complaints"),
    purpose=_("Receive, handle and answer the complaints customers file from their personal space."),
    legal_basis=LegalBasis.CONTRACT,
    legal_basis_detail=_("Handling complaints about the service we provide under the terms of use."),
    data_subjects=(_("Customers who file a complaint"), _("Staff who handle it")),
    data_categories=(
        _("Account, email address and language of the person who files it"),
        _("Category, description and attached files (PDF, images, text)"),
        _("History of the complaint: answers, status changes, reopening, and who handled it"),
        _("Dates of filing, answer deadline, answer and closure"),
    ),
    fields={
        "support.Complaint": [
            "author",
            "email",
            "language",
            "category",
            "description",
            "assignee",
            "created_at",
            "due_at",
            "answered_at",
            "reopened_at",
            "closed_at",
        ],
        "support.ComplaintEvent": ["body", "staff_author", "created_at"],
        "support.ComplaintAttachment": ["name", "content", "created_at"],
    },
    recipients=(STAFF,),
    retention=Retention(
        description=_(
            "5 years after closure (the limitation period for commercial claims), then deleted with its "
            "history and files. An erasure request does not delete a complaint within that period: it is "
            "kept as a legal hold, and the requester is told until when."
        ),
        period=services.RETENTION,
        apply=_retention,
    ),
    security_measures=(
        TLS,
        _(
            "Files are accepted by their content (PDF, PNG, JPEG, plain text); executables and archives are refused"
        ),
        _(
            "Files are stored in the database, never under a public address, and only downloaded as attachments"
        ),
        _("Only the author and staff with the complaint permission can open a complaint or its files"),
        _("Every opening of a complaint or of its files by staff is written to the security log"),
    ),
)

non_personal = {
    "support.Complaint": ["public_id", "status"],
    "support.ComplaintEvent": ["kind", "status"],
    "support.ComplaintAttachment": ["content_type"],
}


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _complaints(subject):
    by_email = Complaint.objects.filter(email__iexact=subject.email)
    return (by_email | Complaint.objects.filter(author_id__in=subject.user_ids)).distinct()


def export_subject(subject) -> list[ExportSection]:
    """The person's complaints, with their history and files (Art. 15)."""
    rows, files = [], []
    for c in _complaints(subject).prefetch_related("events", "attachments").order_by("created_at"):
        names = []
        for f in c.attachments.all():
            name = f"complaints/{c.public_id}/{f.pk}-{f.name}"
            files.append(ExportFile(name=name, content=bytes(f.content), content_type=f.content_type))
            names.append(name)
        rows.append(
            {
                "reference": c.public_id,
                "category": c.category,
                "description": c.description,
                "email": c.email,
                "language": c.language,
                "status": c.status,
                "created_at": _iso(c.created_at),
                "due_at": _iso(c.due_at),
                "answered_at": _iso(c.answered_at),
                "reopened_at": _iso(c.reopened_at),
                "closed_at": _iso(c.closed_at),
                "history": [
                    {"what": e.kind, "status": e.status, "at": _iso(e.created_at), "text": e.body}
                    for e in c.events.all()
                ],
                "files": names,
            }
        )
    return [ExportSection(activity=ACTIVITY, category="complaints", rows=rows, files=files)]


def erase_subject(subject) -> ErasureOutcome:
    """Complaints are a legal hold: kept, unlinked from the account; staff's names leave others' complaints."""
    kept = _complaints(subject).count()
    unlinked = 0
    if subject.user_ids:
        unlinked += Complaint.objects.filter(author_id__in=subject.user_ids).update(author=None)
        unlinked += ComplaintEvent.objects.filter(staff_author_id__in=subject.user_ids).update(
            staff_author=None
        )
        unlinked += Complaint.objects.filter(assignee_id__in=subject.user_ids).update(assignee=None)
    return ErasureOutcome(
        activity=ACTIVITY,
        erased=unlinked,
        kept=kept,
        reason_kept=KEPT_REASON if kept else "",
        kept_until=_("5 years after each complaint's closure") if kept else "",
    )
