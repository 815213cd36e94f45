"""Processing activities of the platform (tessera.core): the security log, outgoing emails, the
back-office log. Declared here, registered under the app label "core": core sits below privacy in the
layers and never imports it."""

from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from tessera.core.audit import security_log_prune
from tessera.core.models import OutboxMessage, SecurityEvent

from .register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
)
from .retention import batched_delete

ACCESS = _("Access restricted to authorised staff with two-factor authentication")


def _security_log_retention(*, now) -> int:
    return security_log_prune(now=now)


def _outbox_retention(*, now) -> int:
    cutoff = now - timedelta(days=settings.TESSERA_PRIVACY["outbox_sent_days"])
    return batched_delete(
        OutboxMessage.objects.filter(
            status__in=[OutboxMessage.Status.SENT, OutboxMessage.Status.REJECTED], created_at__lt=cutoff
        ).order_by()
    )


def _backoffice_log_retention(*, now) -> int:
    cutoff = now - timedelta(days=settings.TESSERA_AUDIT_RETENTION_DAYS)
    return batched_delete(LogEntry.objects.filter(action_time__lt=cutoff).order_by())


activities = [
    Activity(
        name="core.security_log",
        title=_("Security log"),
        purpose=_(
            "Detect and prevent unauthorised access, attacks and abuse; investigate security incidents."
        ),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        legal_basis_detail=_("Our legitimate interest in the security of our systems and of their users."),
        data_subjects=(_("Visitors and users of every service"),),
        data_categories=(
            _("IP address"),
            _("Browser and operating system (user agent)"),
            _("Connection data: date and time of sign-ins and security events"),
            _("Email address used in a security event"),
        ),
        fields={
            "core.SecurityEvent": ["email", "ip", "user_agent", "actor_id", "data", "created_at"],
        },
        recipients=(STAFF,),
        sub_processors=("hosting",),
        retention=Retention(
            description=_("12 months, then deleted. Entries are chained so that tampering is detected."),
            period=timedelta(days=365),
            apply=_security_log_retention,
        ),
        security_measures=(
            _("Append-only log chained by hashes (tamper-evident)"),
            _("Personal fields of an entry can be erased while the chain still verifies"),
            ACCESS,
        ),
    ),
    Activity(
        name="core.outbox",
        title=_("Emails we send"),
        purpose=_(
            "Deliver the emails a service sends you (invitations, sign-in links, answers to your requests), "
            "with retries so that none is lost."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the service you asked for."),
        data_subjects=(_("Recipients of our emails"),),
        data_categories=(_("Email address"), _("Content of the email and its attachments")),
        fields={
            "core.OutboxMessage": [
                "to",
                "recipient",
                "subject",
                "body_text",
                "body_html",
                "headers",
                "last_error",
            ],
            "core.OutboxAttachment": ["filename", "content"],
        },
        recipients=(STAFF, _("Our email-sending provider")),
        sub_processors=("hosting", "email"),
        retention=Retention(
            description=ngettext_lazy(
                "Deleted %(days)d day after sending; kept while delivery is still being retried.",
                "Deleted %(days)d days after sending; kept while delivery is still being retried.",
                "days",
            )
            % {"days": settings.TESSERA_PRIVACY["outbox_sent_days"]},
            period=timedelta(days=settings.TESSERA_PRIVACY["outbox_sent_days"]),
            apply=_outbox_retention,
        ),
        security_measures=(TLS, _("Emails carry no tracker, no tracking pixel and no tracked link"), ACCESS),
    ),
    Activity(
        name="core.backoffice_log",
        title=_("Back-office history"),
        purpose=_("Keep track of the changes authorised staff make in the back-office (accountability)."),
        legal_basis=LegalBasis.LEGITIMATE_INTEREST,
        legal_basis_detail=_("Our legitimate interest in being able to account for every change."),
        data_subjects=(_("Authorised staff"), _("People whose records staff changed")),
        data_categories=(_("Who changed what, and when"), _("Description of the record changed")),
        fields={"admin.LogEntry": ["user", "object_id", "object_repr", "change_message"]},
        recipients=(STAFF,),
        sub_processors=("hosting",),
        retention=Retention(
            description=_("12 months, then deleted."),
            period=timedelta(days=365),
            apply=_backoffice_log_retention,
        ),
        security_measures=(ACCESS,),
    ),
]

non_personal = {
    "core.OutboxMessage": ["kind", "from_email", "message_id", "status"],
    "core.OutboxAttachment": ["content_type"],
    "core.SecurityEvent": ["action", "salt", "personal_digest", "prev_hash", "hash"],
    "core.SecurityLogHead": ["last_hash", "anchor_hash"],
    "core.SpentChallenge": ["challenge_id"],
    "auth.Permission": ["name", "codename"],
    "auth.Group": ["name"],
    "contenttypes.ContentType": ["app_label", "model"],
}


def _security_rows(subject):
    # Two indexed lookups rather than one OR, which planners may answer with a full scan.
    seqs = set(SecurityEvent.objects.filter(email=subject.email).order_by().values_list("seq", flat=True))
    if subject.user_ids:
        seqs.update(
            SecurityEvent.objects.filter(actor_id__in=subject.user_ids)
            .order_by()
            .values_list("seq", flat=True)
        )
    return SecurityEvent.objects.filter(seq__in=sorted(seqs)).order_by("seq")


def export_subject(subject) -> list[ExportSection]:
    security = [
        {
            "time": e.created_at.isoformat(),
            "action": e.action,
            "email": e.email,
            "ip": e.ip or "",
            "user_agent": e.user_agent,
            "details": e.data,
            "personal_fields_erased": e.shredded_at.isoformat() if e.shredded_at else "",
        }
        for e in _security_rows(subject).only(
            "created_at", "action", "email", "ip", "user_agent", "data", "shredded_at"
        )
    ]
    emails = [
        {
            "created": m.created_at.isoformat(),
            "kind": m.kind,
            "to": m.recipient,
            "subject": m.subject,
            "status": m.status,
            "sent": m.sent_at.isoformat() if m.sent_at else "",
            # Staff download exports asked by post: a credential waiting to be sent stays sealed.
            "text": str(_("(sealed until sent: it carries a credential)")) if m.confidential else m.body_text,
            "attachments": [a.filename for a in m.attachments.all()],
        }
        for m in OutboxMessage.objects.filter(recipient=subject.email)
        .defer("body_html")
        .prefetch_related("attachments")
        .order_by("created_at")
    ]
    sections = [
        ExportSection(activity="core.security_log", category="security_log", rows=security),
        ExportSection(activity="core.outbox", category="emails_sent_to_you", rows=emails),
    ]
    if subject.user_ids:
        changes = [
            {
                "time": entry.action_time.isoformat(),
                "record": entry.object_repr,
                "change": entry.get_change_message(),
            }
            for entry in LogEntry.objects.filter(user_id__in=subject.user_ids).order_by("action_time")
        ]
        sections.append(
            ExportSection(activity="core.backoffice_log", category="backoffice_changes", rows=changes)
        )
    return sections


def erase_subject(subject) -> list[ErasureOutcome]:
    erased = batched_delete(OutboxMessage.objects.filter(recipient=subject.email).order_by())
    kept = _security_rows(subject).count()
    return [
        ErasureOutcome(activity="core.outbox", erased=erased),
        ErasureOutcome(
            activity="core.security_log",
            kept=kept,
            reason_kept=_(
                "Security logs are kept for 12 months to detect and investigate attacks and abuse "
                "(GDPR Art. 17(3)(e) and Art. 21(1): compelling legitimate grounds); they are then deleted."
            ),
            kept_until=_("12 months after each entry"),
        ),
    ]
