"""Durable delivery: a row written in the transaction that causes it, delivered by a worker later.

The outbox's emails (core.outbox) and the cards' webhook calls both go through here. A model served by a
`Channel` has the fields `status`, `attempts`, `next_attempt_at`, `claimed_at` and `last_error`, a field
for the time of its delivery, and the statuses "pending", "sending" and "held". What this guarantees:

- at least once: a row is handed to the task queue once its transaction commits, and the periodic sweep
  (`due_ids`) finds whatever a queue outage or a dead worker left; a claim older than the channel's
  `claim_timeout` belongs to a worker that died and is due again;
- one sender at a time: a conditional UPDATE claims a row, so of two racing workers only one sends it;
- a temporary failure backs off exponentially (15 s, doubling up to an hour, ±10 %); a channel with
  `max_attempts` gives up after that many, and a permanent failure gives up at once;
- a held row (restriction of processing) is neither sent nor counted as attempted until it is released.
"""

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

PENDING, SENDING, HELD = "pending", "sending", "held"
BACKOFF_FIRST_SECONDS = 15
BACKOFF_MAX_SECONDS = 3600


def backoff_seconds(attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt, with jitter so that a backlog does not stampede."""
    base = min(BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS)
    return base * random.uniform(0.9, 1.1)


@dataclass(frozen=True)
class Channel:
    """One kind of row this engine delivers: its model, its tasks and the names of its final states.

    `task` and `batch_task` are dotted paths of tasks taking one id or a list of ids: named, not
    imported, so that a service never imports its app's tasks module (which imports the service).
    """

    model: type[models.Model]
    task: str
    delivered: str  # the status of a delivered row
    delivered_at: str  # the field that records when
    given_up: str  # the status of a row that is not retried any more
    claim_timeout: timedelta
    batch_task: str = ""
    batch_size: int = 50
    max_attempts: int | None = None  # None: a temporary failure is retried for ever
    errors: tuple[type[Exception], ...] = (Exception,)  # what counts as a failed attempt
    related: tuple[str, ...] = ()  # select_related when loading a claimed row

    @property
    def rows(self) -> models.Manager:
        return self.model._default_manager


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    NOT_DUE = "not due"  # already delivered, taken by another worker, held, or waiting for its backoff
    HELD = "held"
    RETRY = "retry"
    GAVE_UP = "gave up"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    error: Exception | None = None
    attempts: int = 0


def due(channel: Channel, now: datetime) -> Q:
    return Q(next_attempt_at__lte=now) & (
        Q(status=PENDING) | Q(status=SENDING, claimed_at__lt=now - channel.claim_timeout)
    )


def due_ids(channel: Channel, *, now: datetime, limit: int) -> list:
    """The rows a sweep should try, the longest-waiting first."""
    return list(
        channel.rows.filter(due(channel, now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def claim(channel: Channel, pk, *, now: datetime) -> datetime | None:
    """Mark one due row as being delivered by this worker; its claim time, or None if not due or taken.

    The conditional UPDATE is the lock: of two workers racing for a row only one matches. The claim time
    then identifies this claim, so a worker whose stale claim was taken over cannot overwrite the state
    written by the worker that took it. The attempt is counted here, so a worker that dies mid-send
    still used one.
    """
    # The clock, not `now`: a long sweep must not make its late claims look older than they are.
    claimed_at = timezone.now()
    claimed = channel.rows.filter(due(channel, now), pk=pk).update(
        status=SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1
    )
    return claimed_at if claimed else None


def attempt(channel: Channel, pk, *, now: datetime, send, held=None, permanent=None) -> Result:
    """Claim one row and deliver it with `send(row)`, which raises one of `channel.errors` on failure.

    `held(row)` true: the row waits in "held" until `release`. `permanent(error)` true: the failure is
    final. Safe to call any number of times and from several workers: only one claim succeeds.
    """
    claimed_at = claim(channel, pk, now=now)
    if claimed_at is None:
        return Result(Outcome.NOT_DUE)
    rows = channel.rows.select_related(*channel.related) if channel.related else channel.rows
    row = rows.get(pk=pk)
    mine = channel.rows.filter(pk=pk, status=SENDING, claimed_at=claimed_at)
    if held is not None and held(row):
        mine.update(status=HELD, claimed_at=None, attempts=F("attempts") - 1)
        return Result(Outcome.HELD, attempts=row.attempts - 1)
    try:
        send(row)
    except channel.errors as error:
        give_up = bool(permanent and permanent(error)) or (
            channel.max_attempts is not None and row.attempts >= channel.max_attempts
        )
        mine.update(
            status=channel.given_up if give_up else PENDING,
            next_attempt_at=claimed_at + timedelta(seconds=backoff_seconds(row.attempts)),
            last_error=f"{type(error).__name__}: {error}"[:2000],
            claimed_at=None,
        )
        return Result(Outcome.GAVE_UP if give_up else Outcome.RETRY, error, row.attempts)
    # Recorded even if a slow claim was taken over meanwhile: the row did leave.
    channel.rows.filter(pk=pk).update(
        status=channel.delivered, last_error="", claimed_at=None, **{channel.delivered_at: timezone.now()}
    )
    return Result(Outcome.DELIVERED, attempts=row.attempts)


def release(channel: Channel, pks, *, now: datetime) -> int:
    """Held rows whose hold is over become due at `now`; how many."""
    return channel.rows.filter(pk__in=list(pks), status=HELD).update(status=PENDING, next_attempt_at=now)


@transaction.atomic
def retry(channel: Channel, pks) -> list:
    """Make pending, given-up or stale rows due now and deliver them after commit; their ids.

    Delivered and held rows are left alone: delivering twice or despite a restriction is never a retry.
    """
    now = timezone.now()
    retried = list(
        channel.rows.select_for_update()
        .filter(pk__in=list(pks))
        .filter(
            Q(status__in=[PENDING, channel.given_up])
            | Q(status=SENDING, claimed_at__lt=now - channel.claim_timeout)
        )
        .values_list("pk", flat=True)
    )
    channel.rows.filter(pk__in=retried).update(status=PENDING, next_attempt_at=now, claimed_at=None)
    for pk in retried:
        enqueue_on_commit(channel, pk)
    return retried


def enqueue_on_commit(channel: Channel, pk) -> None:
    """Hand a row to the task queue once the current transaction commits; never if it rolls back.

    Rows written in one transaction leave together: with a `batch_task`, 200 invitations are a few tasks
    (one SMTP connection each), not 200.
    """
    connection = transaction.get_connection()
    batches = getattr(connection, "_tessera_delivery_batches", None)
    if batches is None:
        batches = connection._tessera_delivery_batches = {}
    batch = batches.get(channel.task)
    # A batch whose on-commit callback is gone was rolled back with its transaction: start another.
    if batch is not None and any(item[1] == batch.enqueue for item in connection.run_on_commit):
        batch.ids.append(str(pk))
        return
    batch = batches[channel.task] = _Batch(channel, str(pk))
    # robust: the rows are committed, so a queue outage must not fail the request; the sweep sends them.
    transaction.on_commit(batch.enqueue, robust=True)


class _Batch:
    """The rows of one channel that one transaction wrote, handed to the task queue once it commits."""

    def __init__(self, channel: Channel, first: str):
        self.channel = channel
        self.ids = [first]

    def enqueue(self) -> None:
        batches = getattr(transaction.get_connection(), "_tessera_delivery_batches", {})
        if batches.get(self.channel.task) is self:
            del batches[self.channel.task]
        if len(self.ids) == 1 or not self.channel.batch_task:
            deliver = import_string(self.channel.task)
            for pk in self.ids:
                deliver(pk)
            return
        deliver_many = import_string(self.channel.batch_task)
        size = self.channel.batch_size
        for start in range(0, len(self.ids), size):
            deliver_many(self.ids[start : start + size])
