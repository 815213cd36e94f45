"""The DPO's duties in time: reminders before deadlines, breach notifications."""

from datetime import timedelta

from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from .models import Incident, RightsRequest

REMINDERS = ((7, "reminded_7_at"), (2, "reminded_2_at"))


def deadline_reminders_send(*, now=None) -> int:
    """Email the DPO 7 days and 2 days before an open request's deadline; each reminder once."""
    now = now or timezone.now()
    sent = 0
    for days, flag in REMINDERS:
        due = RightsRequest.objects.filter(
            status__in=RightsRequest.OPEN, due_at__lte=now + timedelta(days=days), **{f"{flag}__isnull": True}
        )
        for record in due:
            with transaction.atomic():
                if not RightsRequest.objects.filter(pk=record.pk, **{f"{flag}__isnull": True}).update(
                    **{flag: now}
                ):
                    continue
                email_queue_template(
                    to=settings.TESSERA_OPERATOR["dpo_email"],
                    template="privacy/email/deadline_reminder",
                    context={"record": record, "days": days},
                    kind="privacy_dpo_reminder",
                )
                sent += 1
    return sent


def incident_addresses(incident: Incident) -> list[str]:
    addresses = []
    for line in incident.affected_emails.splitlines():
        line = line.strip().lower()
        if not line:
            continue
        try:
            validate_email(line)
        except Exception:  # noqa: S112
            continue
        if line not in addresses:
            addresses.append(line)
    return addresses


@transaction.atomic
def incident_save(*, incident: Incident, actor=None) -> Incident:
    """Record an incident in the register (Art. 33(5)), or staff's changes to it, in the security log too."""
    created = incident.pk is None
    incident.save()
    security_event_record(
        action="privacy.incident_saved", actor=actor, data={"incident": incident.pk, "created": created}
    )
    return incident


@transaction.atomic
def incident_notify_people(*, incident: Incident, actor=None) -> int:
    """Email every address of the incident through the outbox (Art. 34), then erase the list."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    addresses = incident_addresses(incident)
    for address in addresses:
        email_queue_template(
            to=address,
            template="privacy/email/incident",
            context={"incident": incident},
            kind="privacy_incident",
        )
    incident.people_notified_at = timezone.now()
    incident.people_notified_count += len(addresses)
    incident.affected_emails = ""
    incident.save(update_fields=["people_notified_at", "people_notified_count", "affected_emails"])
    security_event_record(
        action="privacy.incident_people_notified",
        actor=actor,
        data={"incident": incident.pk, "count": len(addresses)},
    )
    return len(addresses)
