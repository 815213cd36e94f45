"""The security log: append-only, hash-chained, kept 12 months, verifiable."""

import hashlib
import hmac
import json
import secrets
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import SecurityEvent, SecurityLogHead

PRUNE_BATCH = 1000


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def _personal_digest(*, salt: str, email: str, ip, user_agent: str) -> str:
    return hashlib.sha256(salt.encode() + _canonical([email, ip or "", user_agent])).hexdigest()


def _chain_key() -> bytes:
    """The chain is keyed: someone who can write to the database but not read the settings cannot
    rebuild a consistent chain after editing it. Keep TESSERA_AUDIT_KEY stable across releases."""
    return (settings.TESSERA_AUDIT_KEY or f"tessera.audit:{settings.SECRET_KEY}").encode()


def entry_hash(*, prev_hash, seq, created_at, action, actor_id, personal_digest, data) -> str:
    return hmac.new(
        _chain_key(),
        _canonical(
            [prev_hash, seq, created_at.astimezone(UTC).isoformat(), action, actor_id, personal_digest, data]
        ),
        hashlib.sha256,
    ).hexdigest()


def _hash_of(entry: SecurityEvent) -> str:
    # Recording and verifying hash the same fields of an entry: one place names them.
    return entry_hash(
        prev_hash=entry.prev_hash,
        seq=entry.seq,
        created_at=entry.created_at,
        action=entry.action,
        actor_id=entry.actor_id,
        personal_digest=entry.personal_digest,
        data=entry.data,
    )


def request_origin(request) -> dict:
    if request is None:
        return {}
    return {
        "ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:400],
    }


@transaction.atomic
def security_event_record(
    *,
    action: str,
    actor=None,
    email: str = "",
    request=None,
    ip: str | None = None,
    user_agent: str = "",
    data: dict | None = None,
) -> SecurityEvent:
    """Append one entry to the chain (serialised by a lock on the head row)."""
    origin = request_origin(request)
    ip = ip or origin.get("ip")
    user_agent = (user_agent or origin.get("user_agent", ""))[:400]
    actor_id = getattr(actor, "pk", actor)
    if not email and actor is not None and hasattr(actor, "email"):
        email = actor.email
    email = (email or "").strip().lower()
    data = json.loads(_canonical(data or {}))
    head, _ = SecurityLogHead.objects.select_for_update().get_or_create(pk=1)
    salt = secrets.token_hex(16)
    digest = _personal_digest(salt=salt, email=email, ip=ip, user_agent=user_agent)
    seq = head.last_seq + 1
    created_at = timezone.now()
    entry = SecurityEvent(
        seq=seq,
        created_at=created_at,
        action=action,
        actor_id=actor_id,
        email=email,
        ip=ip,
        user_agent=user_agent,
        data=data,
        salt=salt,
        personal_digest=digest,
        prev_hash=head.last_hash,
    )
    entry.hash = _hash_of(entry)
    entry.save()
    head.last_seq, head.last_hash = seq, entry.hash
    head.save(update_fields=["last_seq", "last_hash"])
    return entry


def security_log_verify() -> list[str]:
    """Every problem found in the chain, each naming the entry; an empty list means intact.

    Reads the head first and checks the entries up to it, so that appends made meanwhile are not
    mistaken for tampering; an entry beyond the head that the head does not know is reported.
    """
    head = SecurityLogHead.objects.filter(pk=1).first()
    if head is None:
        if SecurityEvent.objects.exists():
            return ["the head of the chain is missing"]
        return []
    problems = []
    expected_prev, expected_seq = head.anchor_hash, head.anchor_seq + 1
    entries = SecurityEvent.objects.filter(seq__lte=head.last_seq).order_by("seq")
    for entry in entries.iterator(chunk_size=2000):
        if entry.seq < expected_seq:
            problems.append(f"entry {entry.seq} precedes the start of the chain ({head.anchor_seq + 1})")
            continue
        if entry.seq != expected_seq:
            problems.append(f"entries {expected_seq}..{entry.seq - 1} are missing (before entry {entry.seq})")
        if entry.prev_hash != expected_prev:
            problems.append(f"entry {entry.seq} does not chain to the entry before it")
        if entry.shredded_at is None:
            digest = _personal_digest(
                salt=entry.salt, email=entry.email, ip=entry.ip, user_agent=entry.user_agent
            )
            if digest != entry.personal_digest:
                problems.append(f"entry {entry.seq}: personal fields were edited")
        elif entry.email or entry.ip or entry.user_agent or entry.salt:
            # Erasure blanks the personal fields; a shredded entry holding any was rewritten.
            problems.append(f"entry {entry.seq}: personal fields were edited after erasure")
        if _hash_of(entry) != entry.hash:
            problems.append(f"entry {entry.seq} was edited")
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    if expected_seq - 1 != head.last_seq:
        problems.append(
            f"entries {expected_seq}..{head.last_seq} are missing: the chain ends at entry"
            f" {expected_seq - 1} but its head says {head.last_seq}"
        )
    elif expected_prev != head.last_hash:
        problems.append(f"entry {head.last_seq} is not the entry the head recorded")
    # Read after the head: a committed append always moves the head with it, so nothing lies beyond.
    latest = SecurityEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    current = SecurityLogHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() or 0
    if latest is not None and latest > max(current, head.last_seq):
        problems.append(f"entry {latest} was inserted after the head of the chain")
    return problems


def security_log_prune(*, now=None) -> int:
    """Delete entries older than the retention period, oldest first, moving the chain's anchor."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TESSERA_AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            head = SecurityLogHead.objects.select_for_update().filter(pk=1).first()
            if head is None:
                return deleted
            batch = list(
                SecurityEvent.objects.filter(seq__gt=head.anchor_seq, created_at__lt=cutoff)
                .order_by("seq")
                .values_list("seq", "hash")[:PRUNE_BATCH]
            )
            # Only a prefix of the chain may go: stop at the first gap in the expired run.
            prefix = []
            for expected, (seq, hash_) in enumerate(batch, start=head.anchor_seq + 1):
                if seq != expected:
                    break
                prefix.append((seq, hash_))
            if not prefix:
                return deleted
            last_seq, last_hash = prefix[-1]
            SecurityEvent.objects.filter(seq__lte=last_seq).delete()
            head.anchor_seq, head.anchor_hash = last_seq, last_hash
            head.save(update_fields=["anchor_seq", "anchor_hash"])
            deleted += len(prefix)


@transaction.atomic
def security_log_shred(*, email: str) -> int:
    """Erase the personal fields of every entry about `email`; the chain still verifies."""
    email = email.strip().lower()
    return SecurityEvent.objects.filter(email=email, shredded_at__isnull=True).update(
        email="", ip=None, user_agent="", salt="", shredded_at=timezone.now()
    )
