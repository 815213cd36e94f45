"""Pushing members' signatures to Gmail: one member, a selection, a department or everyone, as a durable run.

A run and one row per member are written in the request's transaction; the task queue works through them.
Before each write the member's row is marked "sending" and committed, so a worker that dies mid-call leaves
it so: the next worker first reads that member's signature (an empty patch) and writes only when it differs,
and nobody is pushed twice. A stale heartbeat means a dead worker; the minute sweep resumes its run.
429, 5xx and rate limits defer the member (Retry-After, else exponential back-off) while the others go on;
an explicit Retry-After on the project's quota pauses the whole run. The administrator is checked again
with Google when the run starts and every ADMIN_RECHECK_SECONDS after. Each member's result goes into the
security log (by member id and result; never the token or the HTML).
"""

import hashlib
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tessera.accounts import hooks
from tessera.accounts.models import Membership
from tessera.accounts.selectors import is_org_admin
from tessera.core.audit import security_event_record

from ..models import PushedSignature, PushItem, PushRun
from ..selectors import member_profiles, member_signatures

STALE_AFTER = timedelta(seconds=30)  # a run whose heartbeat is older belongs to a dead worker
HEARTBEAT_SECONDS = 5.0
ADMIN_RECHECK_SECONDS = 300.0
MAX_ATTEMPTS = 8
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 64.0
BATCH = 40  # members rendered together, then marked and sent together
WORKERS = 8  # calls to Google in flight at once (one per member; the project's quota is shared)
REPUSH_WINDOW = timedelta(minutes=2)  # card changes within it make one automatic push
RUN_TASK = "tessera.signatures.tasks.push_run_task"
OPEN = (PushItem.Status.PENDING, PushItem.Status.SENDING)


class PushRefused(ValidationError):
    """The push may not start: the message says why (not an administrator, Google said no, nobody chosen)."""


def _org_admin_require(*, organisation, actor) -> None:
    if actor is None or not is_org_admin(user=actor, organisation=organisation):
        raise PushRefused(_("Only an administrator of the organisation may push signatures to Gmail."))


def _allowed(*, organisation, actor, request=None) -> dict:
    answers = hooks.signature_push_allowed.send(organisation=organisation, actor=actor, request=request)
    if not answers:
        return {"allowed": False, "message": _("Gmail is not available on this installation."), "domains": []}
    return answers[0]


def _enqueue(run_id: int) -> None:
    transaction.on_commit(lambda: import_string(RUN_TASK)(run_id))


def _members(*, organisation, user_ids=None, department: str = "", everyone: bool = False) -> list[int]:
    members = Membership.objects.filter(organisation=organisation)
    if department:
        wanted = department.strip().lower()
        profiles = member_profiles(organisation=organisation)
        return sorted(
            uid for uid, p in profiles.items() if (p.get("department") or "").strip().lower() == wanted
        )
    if not everyone:
        members = members.filter(user_id__in=[int(uid) for uid in user_ids or []])
    return sorted(members.values_list("user_id", flat=True))


def signature_push_request(
    *, organisation, actor, user_ids=None, department: str = "", everyone: bool = False, request=None
) -> PushRun:
    """Queue a push. Google is asked first whether `actor` is still a Workspace administrator (PushRefused)."""
    _org_admin_require(organisation=organisation, actor=actor)
    members = _members(organisation=organisation, user_ids=user_ids, department=department, everyone=everyone)
    if not members:
        raise PushRefused(
            _("Nobody to push: choose members, a department with published cards, or everyone.")
        )
    # Outside the transaction: a token Google revoked during the check must stay deleted.
    allowed = _allowed(organisation=organisation, actor=actor, request=request)
    if not allowed["allowed"]:
        security_event_record(
            action="signatures.push.refused",
            actor=actor,
            request=request,
            data={"organisation": organisation.pk, "reason": str(allowed["message"])[:200]},
        )
        raise PushRefused(allowed["message"])
    # Stored in English; PushRun.who says it in the language of whoever reads it.
    with translation.override("en"):
        if everyone:
            label = _("everyone")
        elif department:
            label = _("department %(name)s") % {"name": department.strip()[:150]}
        else:
            label = _("%(count)d selected member(s)") % {"count": len(members)}
    return _run_create(
        organisation=organisation, actor=actor, user_ids=members, label=label, kind=PushRun.Kind.MANUAL
    )


@transaction.atomic
def _run_create(*, organisation, actor, user_ids, label: str, kind: str, request=None) -> PushRun:
    run = PushRun.objects.create(organisation=organisation, actor=actor, label=label, kind=kind)
    PushItem.objects.bulk_create([PushItem(run=run, user_id=uid) for uid in user_ids])
    security_event_record(
        action="signatures.push.requested",
        actor=actor,
        request=request,
        data={"organisation": organisation.pk, "run": run.pk, "members": len(user_ids), "kind": kind},
    )
    _enqueue(run.pk)
    return run


@transaction.atomic
def signature_push_cancel(*, run: PushRun, actor, request=None) -> PushRun:
    """Stop a run: members not yet pushed stay as they are in Gmail."""
    _org_admin_require(organisation=run.organisation, actor=actor)
    run = PushRun.objects.select_for_update().get(pk=run.pk)
    if run.is_finished:
        return run
    run.cancel_requested = True
    run.save(update_fields=["cancel_requested"])
    if run.status == PushRun.Status.QUEUED:
        _finish(run, PushRun.Status.CANCELLED)
    security_event_record(
        action="signatures.push.cancelled",
        actor=actor,
        request=request,
        data={"organisation": run.organisation_id, "run": run.pk},
    )
    return run


def _finish(run: PushRun, status: str, message: str = "") -> None:
    now = timezone.now()
    if status == PushRun.Status.CANCELLED:
        run.items.filter(status__in=OPEN).update(
            status=PushItem.Status.CANCELLED, reason=_("The push was cancelled."), finished_at=now
        )
    elif message:
        run.items.filter(status__in=OPEN).update(
            status=PushItem.Status.SKIPPED, reason=message, finished_at=now
        )
    PushRun.objects.filter(pk=run.pk).update(status=status, message=message[:500], finished_at=now, claim="")
    run.status, run.message, run.finished_at = status, message[:500], now


# --- the worker -------------------------------------------------------------------------------------------


def _claim(run_id: int) -> PushRun | None:
    """Take the run for this worker: a queued one, or a running one whose worker stopped beating."""
    now = timezone.now()
    claim = secrets.token_hex(8)
    taken = PushRun.objects.filter(
        Q(status=PushRun.Status.QUEUED)
        | Q(status=PushRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        | Q(status=PushRun.Status.RUNNING, heartbeat_at__isnull=True),
        pk=run_id,
    ).update(status=PushRun.Status.RUNNING, heartbeat_at=now, claim=claim)
    return PushRun.objects.select_related("organisation", "actor").get(pk=run_id) if taken else None


def _beat(run: PushRun) -> bool:
    """Refresh the heartbeat; False when the run was cancelled or another worker took it over."""
    alive = PushRun.objects.filter(pk=run.pk, claim=run.claim, cancel_requested=False).update(
        heartbeat_at=timezone.now()
    )
    return bool(alive)


def _backoff(attempts: int) -> float:
    base = min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return base * random.uniform(0.9, 1.1)


def _log(run: PushRun, item: PushItem) -> None:
    security_event_record(
        action="signatures.push.member",
        actor=run.actor_id,
        data={
            "organisation": run.organisation_id,
            "run": run.pk,
            "member": item.user_id,
            "result": item.status,  # not the reason: it may quote an address or Google's words about one
        },
    )


@transaction.atomic
def _conclude(run: PushRun, item: PushItem, status: str, reason: str = "", digest: str = "") -> None:
    item.status, item.reason, item.finished_at = status, reason[:500], timezone.now()
    item.save(update_fields=["status", "reason", "finished_at", "attempts", "not_before"])
    if digest:
        PushedSignature.objects.update_or_create(
            organisation_id=run.organisation_id,
            user_id=item.user_id,
            defaults={"digest": digest, "pushed_at": item.finished_at, "pushed_by_id": run.actor_id},
        )
    _log(run, item)


@dataclass
class _Outgoing:
    item: PushItem
    email: str
    html: str
    digest: str
    interrupted: bool  # a worker died during this member's call: read before writing


def _prepare(run: PushRun, item: PushItem, member, domains: set[str], last: dict) -> _Outgoing | None:
    """What to send for this member, or None when their result is known without Google (concluded here)."""
    if member is None:
        return _conclude(run, item, PushItem.Status.SKIPPED, _("No published card in the organisation."))
    if member.signature is None:
        return _conclude(
            run, item, PushItem.Status.SKIPPED, member.problem or _("No signature template applies.")
        )
    email = item.user.email.strip().lower()
    if email.rpartition("@")[2] not in domains:
        reason = _("The address %(email)s is not in the Google Workspace's domains.") % {"email": email}
        return _conclude(run, item, PushItem.Status.SKIPPED, reason)
    html = member.signature.html
    digest = hashlib.sha256(html.encode()).hexdigest()
    interrupted = item.status == PushItem.Status.SENDING
    if not interrupted and last.get(item.user_id) == digest:
        return _conclude(run, item, PushItem.Status.UNCHANGED)
    return _Outgoing(item=item, email=email, html=html, digest=digest, interrupted=interrupted)


def _call(run: PushRun, out: _Outgoing) -> dict:
    """One member's sendAs.patch, on a thread of the run's pool (no database here)."""
    answers = hooks.signature_gmail_patch.send(
        organisation=run.organisation, email=out.email, signature=out.html, verify=out.interrupted
    )
    return answers[0] if answers else {"result": "failed", "message": _("Gmail is not available.")}


@transaction.atomic
def _record(run: PushRun, out: _Outgoing, answer: dict) -> float | None:
    """Google's answer for one member; a pause for the whole run when Google asked the project to wait."""
    item = out.item
    if answer["result"] in ("updated", "unchanged"):
        # Found already in Gmail after a crash: the interrupted call had written it.
        status = (
            PushItem.Status.UPDATED if out.interrupted or answer["result"] == "updated" else answer["result"]
        )
        _conclude(run, item, status, digest=out.digest)
        return None
    if answer["result"] == "retry" and item.attempts < MAX_ATTEMPTS:
        wait = answer.get("retry_after")
        item.not_before = timezone.now() + timedelta(
            seconds=wait if wait is not None else _backoff(item.attempts)
        )
        # Still "sending" when Google may have applied it (a 5xx, a lost connection, a call cut by a crash).
        uncertain = out.interrupted or answer.get("uncertain")
        item.status = PushItem.Status.SENDING if uncertain else PushItem.Status.PENDING
        item.save(update_fields=["status", "not_before"])
        return wait if answer.get("scope") == "project" else None
    _conclude(run, item, PushItem.Status.FAILED, str(answer.get("message") or ""))
    return None


class _Pulse:
    """The run's heartbeat, from the worker's own thread, also while Google's answers are awaited."""

    def __init__(self, run: PushRun):
        self.run, self.at, self.alive = run, 0.0, True

    def beat(self) -> bool:
        """Beat when due; False once the run was cancelled or another worker took it over."""
        if self.alive and time.monotonic() - self.at >= HEARTBEAT_SECONDS:
            self.alive, self.at = _beat(self.run), time.monotonic()
        return self.alive


def _push_batch(
    run: PushRun, batch: list[PushItem], domains: set[str], pool: ThreadPoolExecutor, pulse
) -> float:
    """Render, mark every member to call "sending" in one commit, call Google in parallel, record each answer."""
    ids = [item.user_id for item in batch]
    members = {s.user_id: s for s in member_signatures(organisation=run.organisation, user_ids=ids)}
    last = dict(
        PushedSignature.objects.filter(organisation_id=run.organisation_id, user_id__in=ids).values_list(
            "user_id", "digest"
        )
    )
    outgoing = [
        out
        for item in batch
        if (out := _prepare(run, item, members.get(item.user_id), domains, last)) is not None
    ]
    for out in outgoing:
        out.item.attempts += 1
    # Committed before any call leaves: a worker that dies now leaves these members to be read first.
    PushItem.objects.filter(pk__in=[out.item.pk for out in outgoing]).update(
        status=PushItem.Status.SENDING, attempts=F("attempts") + 1
    )
    calls = [pool.submit(_call, run, out) for out in outgoing]
    while wait(calls, timeout=HEARTBEAT_SECONDS / 2).not_done:
        pulse.beat()  # a slow Google must not make this live worker look dead (the sweep would resume it)
    answers = [call.result() for call in calls]
    pauses = [_record(run, out, answer) for out, answer in zip(outgoing, answers, strict=True)]
    return max([pause for pause in pauses if pause] or [0.0])


def _next_batch(run: PushRun) -> list[PushItem]:
    now = timezone.now()
    return list(
        run.items.filter(status__in=OPEN)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .select_related("user")
        .order_by("pk")[:BATCH]
    )


def _wait(run: PushRun) -> bool:
    """Sleep until a deferred member is due (at most a second, to keep beating); False when none is left."""
    soonest = run.items.filter(status__in=OPEN).aggregate(at=Min("not_before"))["at"]
    if not run.items.filter(status__in=OPEN).exists():
        return False
    if soonest is not None:
        time.sleep(min(max((soonest - timezone.now()).total_seconds(), 0.01), 1.0))
    return True


def push_run(*, run_id: int) -> PushRun | None:
    """The task body: work through a run's members until done, cancelled, or the administrator is refused."""
    run = _claim(run_id)
    if run is None:
        return None
    checked = 0.0
    domains: set[str] = set()
    pulse = _Pulse(run)
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="signature-push") as pool:
        while True:
            if not pulse.beat():
                run.refresh_from_db()
                if run.cancel_requested and not run.is_finished:
                    _finish(run, PushRun.Status.CANCELLED)
                return run
            if time.monotonic() - checked >= ADMIN_RECHECK_SECONDS:
                allowed = _allowed(organisation=run.organisation, actor=run.actor)
                if not allowed["allowed"]:
                    _finish(run, PushRun.Status.FAILED, str(allowed["message"]))
                    return run
                domains, checked = {str(d).lower() for d in allowed["domains"]}, time.monotonic()
            batch = _next_batch(run)
            if not batch:
                if not _wait(run):
                    _finish(run, PushRun.Status.DONE)
                    return run
                continue
            pause = _push_batch(run, batch, domains, pool, pulse)
            if pause:
                time.sleep(min(pause, BACKOFF_MAX_SECONDS))


def push_resume_due() -> list[int]:
    """The minute sweep: runs left queued (a lost task) or running without a heartbeat (a dead worker)."""
    now = timezone.now()
    ids = list(
        PushRun.objects.filter(
            Q(status=PushRun.Status.QUEUED, created_at__lt=now - STALE_AFTER)
            | Q(status=PushRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        ).values_list("pk", flat=True)
    )
    for run_id in ids:
        import_string(RUN_TASK)(run_id)
    return ids


# --- automatic re-push after a card change ---------------------------------------------------------------


def member_profile_changed(*, organisation_id, card_owner_id=None, card_owner_ids=()) -> None:
    """Receiver of hooks.member_profile_changed: the first change opens a window; later ones join it.

    A bulk change (a directory sync's page) names many owners at once: one statement for all of them.
    """
    owners = [*card_owner_ids, *([card_owner_id] if card_owner_id is not None else [])]
    if organisation_id is None or not owners:
        return
    PushedSignature.objects.filter(
        organisation_id=organisation_id, user_id__in=owners, repush_due_at__isnull=True
    ).update(repush_due_at=timezone.now() + REPUSH_WINDOW)


def repush_due(*, now=None) -> list[PushRun]:
    """The minute sweep: one automatic run per organisation for the members whose window closed."""
    now = now or timezone.now()
    runs = []
    due = PushedSignature.objects.filter(repush_due_at__lte=now).select_related("organisation")
    by_organisation: dict = {}
    for pushed in due:
        by_organisation.setdefault(pushed.organisation, []).append(pushed)
    for organisation, members in by_organisation.items():
        with transaction.atomic():
            taken = PushedSignature.objects.filter(
                pk__in=[m.pk for m in members], repush_due_at__lte=now
            ).update(repush_due_at=None)
            if not taken:
                continue
            # Pushed on behalf of the administrator who pushed last; Google checks them again at the start.
            actor = max(members, key=lambda m: m.pushed_at or now).pushed_by
            runs.append(
                _run_create(
                    organisation=organisation,
                    actor=actor,
                    user_ids=sorted({m.user_id for m in members}),
                    label=gettext_noop("after card changes"),
                    kind=PushRun.Kind.AUTOMATIC,
                )
            )
    return runs
