"""Restriction of processing and objections: limits in force on an address, and the emails they hold."""

from django.db import transaction
from django.utils import timezone

from tessera.core.audit import security_event_record
from tessera.core.models import OutboxMessage

from ..models import ProcessingLimit
from ..selectors import limit_active

# Emails about a person's own rights are never held by a restriction: they are the answer.
UNHELD_KINDS_PREFIX = "privacy_"


def outbox_hold_check(*, to: str, kind: str) -> bool:
    """Hook of tessera.core.outbox: hold every email to a restricted address, except rights answers."""
    if kind.startswith(UNHELD_KINDS_PREFIX):
        return False
    kinds = [ProcessingLimit.Kind.RESTRICTION]
    if kind == "marketing":
        kinds.append(ProcessingLimit.Kind.OBJECTION_MARKETING)
    return limit_active(email=to, kinds=kinds)


@transaction.atomic
def limit_add(*, email: str, kind: str, reason: str = "", request_record=None, actor=None) -> ProcessingLimit:
    email = email.strip().lower()
    existing = ProcessingLimit.objects.filter(email=email, kind=kind, lifted_at__isnull=True).first()
    if existing:
        return existing
    limit = ProcessingLimit.objects.create(email=email, kind=kind, reason=reason, request=request_record)
    if kind == ProcessingLimit.Kind.RESTRICTION:
        OutboxMessage.objects.filter(recipient=email, status=OutboxMessage.Status.PENDING).exclude(
            kind__startswith=UNHELD_KINDS_PREFIX
        ).update(status=OutboxMessage.Status.HELD)
    security_event_record(action=f"privacy.{kind}_added", email=email, actor=actor)
    return limit


@transaction.atomic
def limit_lift(*, email: str, kind: str) -> int:
    email = email.strip().lower()
    count = ProcessingLimit.objects.filter(email=email, kind=kind, lifted_at__isnull=True).update(
        lifted_at=timezone.now()
    )
    if count and kind == ProcessingLimit.Kind.RESTRICTION:
        held = list(
            OutboxMessage.objects.filter(recipient=email, status=OutboxMessage.Status.HELD).values_list(
                "pk", flat=True
            )
        )
        OutboxMessage.objects.filter(pk__in=held).update(
            status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now()
        )
    if count:
        security_event_record(action=f"privacy.{kind}_lifted", email=email)
    return count
