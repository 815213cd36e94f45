"""Reads of complaints: the customer's own, and the desk's queue."""

from django.db.models import BooleanField, Count, ExpressionWrapper, Q
from django.utils import timezone

from .complaints import Complaint, ComplaintAttachment

QUEUE_LIMIT = 200


def complaints_of(*, user):
    return Complaint.objects.filter(author=user).order_by("-created_at")


def complaint_of(*, user, public_id: str) -> Complaint | None:
    """The signed-in person's complaint; None for anyone else's (a 404, with no hint it exists)."""
    return (
        Complaint.objects.filter(author=user, public_id=public_id).first() if user.is_authenticated else None
    )


def complaint_get(*, pk: int) -> Complaint | None:
    return Complaint.objects.select_related("assignee", "author").filter(pk=pk).first()


def complaint_history(*, complaint: Complaint):
    return complaint.events.select_related("staff_author")


def complaint_files(*, complaint: Complaint):
    return complaint.attachments.defer("content")


def complaint_attachment(*, complaint: Complaint, pk: int) -> ComplaintAttachment | None:
    return complaint.attachments.filter(pk=pk).first()


def complaint_queue(*, status: str = ""):
    """Complaints of the desk, the nearest deadline first among open ones."""
    overdue = ExpressionWrapper(
        Q(due_at__lt=timezone.now(), status__in=Complaint.OPEN), output_field=BooleanField()
    )
    complaints = Complaint.objects.select_related("assignee").annotate(
        file_count=Count("attachments"), overdue=overdue
    )
    if status in Complaint.Status.values:
        complaints = complaints.filter(status=status)
    return complaints.order_by("closed_at", "due_at")[:QUEUE_LIMIT]


def complaint_counts() -> dict:
    found = dict(Complaint.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {value: found.get(value, 0) for value in Complaint.Status.values}
