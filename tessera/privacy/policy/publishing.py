"""Publication of a new policy version and the emails that tell people of a substantial change."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.module_loading import import_string

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from ..models import PolicyVersion
from ..register import registry
from ..subjects import subject_digest
from .content import register_hash, register_snapshot

NOTIFY_BATCH = 1000


def _substance(snapshot: dict) -> dict:
    """What makes a change substantial: what is collected, why, on what basis, who gets it, how long."""
    keys = (
        "id",
        "purpose",
        "legal_basis",
        "data_subjects",
        "data_categories",
        "category_retention",
        "fields",
        "recipients",
        "joint_controller",
        "processor_for",
        "sub_processors",
        "transfers_outside_eea",
        "transfers",
        "retention",
    )
    return {
        "activities": [{k: a[k] for k in keys} for a in snapshot["activities"]],
        "sub_processors": [(p["name"], p["country"], p["personal_data"]) for p in snapshot["sub_processors"]],
        "cookies": [c["name"] for c in snapshot["cookies"]],
    }


def policy_publish(*, using: str = "default", notify: bool = True) -> PolicyVersion:
    """Store a new policy version if the register changed; a substantial change emails account holders.

    The emails are queued by a task (`privacy_policy_notify`), enqueued once this commits. A
    substantial version whose notification has not finished is enqueued again, so a crash mid-way
    resumes where it stopped.
    """
    snapshot = register_snapshot()
    content_hash, substance_hash = register_hash(snapshot), register_hash(_substance(snapshot))
    with transaction.atomic(using=using):
        latest = PolicyVersion.objects.using(using).select_for_update().order_by("-number").first()
        if latest and latest.content_hash == content_hash:
            version = latest
        else:
            existing = PolicyVersion.objects.using(using).filter(content_hash=content_hash).first()
            if existing:  # a revert to an earlier register is published as a new version
                existing.content_hash = f"{content_hash[:50]}-{timezone.now():%y%m%d%H%M%S}"
                existing.save(update_fields=["content_hash"])
            version = PolicyVersion.objects.using(using).create(
                number=(latest.number + 1) if latest else 1,
                content_hash=content_hash,
                substance_hash=substance_hash,
                substantial=bool(latest and latest.substance_hash != substance_hash),
                register=snapshot,
            )
        if notify and version.substantial and version.notified_at is None:
            policy_notification_enqueue(version=version, using=using)
    return version


# Named, not imported: the tasks module imports this one.
NOTIFY_TASK = "tessera.privacy.tasks.privacy_policy_notify"


def policy_notification_enqueue(*, version: PolicyVersion, using: str = "default") -> None:
    """Enqueue the emails of a substantial change once the surrounding transaction commits."""

    def enqueue():
        import_string(NOTIFY_TASK)(version.pk, using)

    # robust: the version is committed; if the queue is down, the hourly resume sends the emails.
    transaction.on_commit(enqueue, using=using, robust=True)


def policy_recipients_other(*, version: PolicyVersion, using: str = "default") -> list[tuple[str, str, str]]:
    """Addresses with a live relationship that no account holds, as (digest, email, language) in digest order.

    Each app names its own through `policy_recipients(before=...)` in its privacy module (organisers of
    events not over, marketing subscribers, card visitors awaiting an answer). Addresses are compared in
    lower case; the first language given for an address is kept.
    """
    found: dict[str, str] = {}
    for module in registry.modules.values():
        hook = getattr(module, "policy_recipients", None)
        if not callable(hook):
            continue
        for email, language in hook(before=version.published_at):
            email = (email or "").strip().lower()
            if email and email not in found:
                found[email] = language or settings.LANGUAGE_CODE
    # Account holders are told as such (or joined after the change); looked up by chunks of addresses.
    addresses = list(found)
    for start in range(0, len(addresses), NOTIFY_BATCH):
        chunk = addresses[start : start + NOTIFY_BATCH]
        for email in (
            get_user_model()
            .objects.using(using)
            .annotate(address=Lower("email"))
            .filter(address__in=chunk)
            .values_list("address", flat=True)
        ):
            found.pop(email, None)
    return sorted((subject_digest(email), email, language) for email, language in found.items())


def _policy_email_queue(*, email: str, language: str, version: PolicyVersion) -> None:
    email_queue_template(
        to=email,
        template="privacy/email/policy_changed",
        context={"version": version},
        language=language or settings.LANGUAGE_CODE,
        kind="privacy_policy_changed",
    )


def policy_change_notify(*, version_id: int, using: str = "default") -> int:
    """Queue one email per active account holder who joined before the version, then one per other
    address with a live relationship (`policy_recipients_other`); returns how many.

    Batches of `NOTIFY_BATCH`, each in one transaction with its progress mark (`notified_through_user_id`,
    then `others_notified_through`): a crash loses at most the uncommitted batch, which a rerun queues
    again, and nobody is emailed twice. Several workers cannot interleave: the version row is locked.
    """
    users = get_user_model().objects.using(using).filter(is_active=True).order_by("pk")
    queued, resumed, others = 0, None, None
    while True:
        with transaction.atomic(using=using):
            version = PolicyVersion.objects.using(using).select_for_update().get(pk=version_id)
            if version.notified_at is not None:
                return queued
            if resumed is None:
                resumed = version.notified_through_user_id > 0 or bool(version.others_notified_through)
            if not version.accounts_notified:
                batch = list(
                    users.filter(
                        pk__gt=version.notified_through_user_id, date_joined__lte=version.published_at
                    ).values_list("pk", "email", "language")[:NOTIFY_BATCH]
                )
                for _pk, email, language in batch:
                    _policy_email_queue(email=email, language=language, version=version)
                if batch:
                    version.notified_through_user_id = batch[-1][0]
                    version.save(update_fields=["notified_through_user_id"])
                else:
                    version.accounts_notified = True
                    version.save(update_fields=["accounts_notified"])
                queued += len(batch)
                continue
            if others is None:
                others = policy_recipients_other(version=version, using=using)
            batch = [row for row in others if row[0] > version.others_notified_through][:NOTIFY_BATCH]
            if not batch:
                version.notified_at = timezone.now()
                version.others_notified_through = ""  # a digest of an address: kept no longer than needed
                version.save(update_fields=["notified_at", "others_notified_through"])
                security_event_record(
                    action="privacy.policy_changed",
                    data={"version": version.number, "notified": queued, "resumed": resumed},
                )
                return queued
            for _digest, email, language in batch:
                _policy_email_queue(email=email, language=language, version=version)
            version.others_notified_through = batch[-1][0]
            version.save(update_fields=["others_notified_through"])
            queued += len(batch)


def policy_notifications_resume(*, using: str = "default") -> int:
    """Finish the emails of the latest substantial version if they were not all queued (hourly).

    An older unfinished version is not resumed: the email of the latest one points to the policy that
    now includes its changes.
    """
    latest = (
        PolicyVersion.objects.using(using)
        .filter(substantial=True)
        .order_by("-number")
        .only("pk", "notified_at")
        .first()
    )
    if latest is None or latest.notified_at is not None:
        return 0
    return policy_change_notify(version_id=latest.pk, using=using)
