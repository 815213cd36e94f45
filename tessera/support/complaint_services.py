"""Writes of complaints: filing, answers, reopening, reminders and retention, each with its emails."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template
from tessera.privacy.retention import batched_delete

from .complaint_files import CheckedFile
from .complaints import DESCRIPTION_LIMIT, Complaint, ComplaintAttachment, ComplaintEvent
from .conf import staff_address

# The limitation period for commercial claims (Code de commerce, art. L110-4): 5 years.
RETENTION = timedelta(days=5 * 365)
REMIND_WITHIN = 2  # working days


class ComplaintError(Exception):
    """A step the complaint's state does not allow (a second reopening): nothing is stored."""


def deadline_days() -> int:
    return getattr(settings, "TESSERA_COMPLAINT_DEADLINE_DAYS", 10)


def working_days_after(start, days: int):
    """`start` moved forward by `days` working days, in local time; Saturdays and Sundays are skipped."""
    moment = timezone.localtime(start)
    while days > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days -= 1
    return moment


def _absolute(name: str, language: str, **kwargs) -> str:
    with translation.override(language):
        return settings.TESSERA_BASE_URL + reverse(name, kwargs=kwargs)


def _customer_url(complaint: Complaint) -> str:
    return _absolute("support:complaint", complaint.language, public_id=complaint.public_id)


def _desk_url(complaint: Complaint) -> str:
    return _absolute("support:desk_complaint", settings.LANGUAGE_CODE, pk=complaint.pk)


def _staff_recipient(complaint: Complaint) -> tuple[str, str | None]:
    assignee = complaint.assignee
    if assignee is not None and assignee.is_active:
        return assignee.email, getattr(assignee, "language", None)
    return staff_address(), None


@transaction.atomic
def complaint_file(
    *, author, category: str, description: str, files: list[CheckedFile], language: str
) -> Complaint:
    """A signed-in customer files a complaint; they get an acknowledgement with the answer deadline."""
    errors = {}
    if category not in Complaint.Category.values:
        errors["category"] = [_("Choose a valid category.")]
    if not description.strip():
        errors["description"] = [_("Describe what happened.")]
    elif len(description) > DESCRIPTION_LIMIT:
        errors["description"] = [_("The description is too long: at most 10,000 characters.")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    complaint = Complaint.objects.create(
        author=author,
        email=author.email,
        language=language,
        category=category,
        description=description,
        created_at=now,
        due_at=working_days_after(now, deadline_days()),
    )
    ComplaintEvent.objects.create(
        complaint=complaint, kind=ComplaintEvent.Kind.FILED, status=complaint.status, created_at=now
    )
    ComplaintAttachment.objects.bulk_create(
        ComplaintAttachment(
            complaint=complaint,
            name=f.name,
            content_type=f.content_type,
            size=len(f.content),
            content=f.content,
        )
        for f in files
    )
    email_queue_template(
        to=complaint.email,
        template="support/complaints/email/received",
        context={"complaint": complaint, "url": _customer_url(complaint), "files": len(files)},
        language=complaint.language,
        kind="complaint_received",
    )
    return complaint


@transaction.atomic
def complaint_answer(*, complaint: Complaint, actor, body: str, request=None) -> ComplaintEvent:
    """Staff answer from the desk: the customer reads it by email and in their space."""
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if complaint.status == Complaint.Status.CLOSED:
        raise ComplaintError(_("This complaint is closed: reopen it first by changing its status."))
    now = timezone.now()
    complaint.status = Complaint.Status.ANSWERED
    complaint.answered_at = now
    complaint.save(update_fields=["status", "answered_at"])
    event = ComplaintEvent.objects.create(
        complaint=complaint,
        kind=ComplaintEvent.Kind.ANSWER,
        status=complaint.status,
        staff_author=actor,
        body=body,
        created_at=now,
    )
    email_queue_template(
        to=complaint.email,
        template="support/complaints/email/answered",
        context={"complaint": complaint, "url": _customer_url(complaint), "message": body},
        language=complaint.language,
        kind="complaint_answered",
    )
    security_event_record(
        action="support.complaint.answered", actor=actor, request=request, data={"complaint": complaint.pk}
    )
    return event


@transaction.atomic
def complaint_update(*, complaint: Complaint, actor, status: str, assignee, request=None) -> Complaint:
    """Change a complaint's status or assignee from the desk; each status change joins its history."""
    if status not in Complaint.Status.values:
        raise ValidationError({"status": [_("Choose a valid status.")]})
    if assignee is not None and not (assignee.is_staff and assignee.is_active):
        raise ValidationError({"assignee": [_("Only active staff can be assigned a complaint.")]})
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    before = {"status": complaint.status, "assignee": complaint.assignee_id}
    complaint.assignee = assignee
    if status != complaint.status:
        complaint.status = status
        complaint.closed_at = timezone.now() if status == Complaint.Status.CLOSED else None
        ComplaintEvent.objects.create(
            complaint=complaint, kind=ComplaintEvent.Kind.STATUS, status=status, staff_author=actor
        )
    complaint.save(update_fields=["status", "assignee", "closed_at"])
    after = {"status": complaint.status, "assignee": complaint.assignee_id}
    if after != before:
        security_event_record(
            action="support.complaint.updated",
            actor=actor,
            request=request,
            data={"complaint": complaint.pk, "before": before, "after": after},
        )
    return complaint


@transaction.atomic
def complaint_reopen(*, complaint: Complaint, author, reason: str) -> Complaint:
    """The customer reopens an answered complaint, once; staff are told and a new deadline starts."""
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk, author=author)
    if complaint.reopened_at is not None:
        raise ComplaintError(
            _("You already reopened this complaint once. Write to us through a new complaint.")
        )
    if complaint.status != Complaint.Status.ANSWERED:
        raise ComplaintError(_("Only an answered complaint can be reopened."))
    if len(reason) > DESCRIPTION_LIMIT:
        raise ValidationError({"reason": [_("The description is too long: at most 10,000 characters.")]})
    now = timezone.now()
    complaint.status = Complaint.Status.HANDLING
    complaint.reopened_at = now
    complaint.due_at = working_days_after(now, deadline_days())
    complaint.reminded_on = None
    complaint.save(update_fields=["status", "reopened_at", "due_at", "reminded_on"])
    ComplaintEvent.objects.create(
        complaint=complaint,
        kind=ComplaintEvent.Kind.REOPENED,
        status=complaint.status,
        body=reason,
        created_at=now,
    )
    to, language = _staff_recipient(complaint)
    email_queue_template(
        to=to,
        template="support/complaints/email/reopened",
        context={"complaint": complaint, "desk_url": _desk_url(complaint)},
        language=language,
        kind="complaint_reopened",
    )
    return complaint


def complaint_read_record(*, complaint: Complaint, actor, request=None, attachment=None) -> None:
    """Staff access is logged: who opened which complaint, or which of its files."""
    data = {"complaint": complaint.pk}
    if attachment is not None:
        data["attachment"] = attachment.pk
    security_event_record(action="support.complaint.viewed", actor=actor, request=request, data=data)


def complaint_reminders_send(*, now=None) -> int:
    """Tell staff of open complaints due within 2 working days or overdue: once a day per complaint.

    The day of the reminder is recorded with it, so a restart on the same day sends nothing twice.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    # Due any time on the second working day from now counts: a deadline is a day, not an hour.
    horizon = working_days_after(now, REMIND_WITHIN).replace(hour=23, minute=59, second=59)
    due = Complaint.objects.filter(status__in=Complaint.OPEN, due_at__lte=horizon).exclude(reminded_on=today)
    sent = 0
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            claimed = (
                Complaint.objects.filter(pk=pk, status__in=Complaint.OPEN)
                .exclude(reminded_on=today)
                .update(reminded_on=today)
            )
            if not claimed:
                continue
            complaint = Complaint.objects.select_related("assignee").get(pk=pk)
            to, language = _staff_recipient(complaint)
            email_queue_template(
                to=to,
                template="support/complaints/email/reminder",
                context={
                    "complaint": complaint,
                    "desk_url": _desk_url(complaint),
                    "overdue": complaint.due_at < now,
                },
                language=language,
                kind="complaint_reminder",
            )
            sent += 1
    return sent


def complaints_expired_delete(*, now) -> int:
    """Complaints closed more than 5 years ago go, with their history and attachments."""
    due = Complaint.objects.filter(status=Complaint.Status.CLOSED, closed_at__lt=now - RETENTION)
    return batched_delete(due.order_by())
