"""Call-quality samples leave the signaling path: a member's `stats` message queues its sample and returns,
and one writer per process stores whatever has queued in a single write, then the next batch.

At 1,000 participants every browser reports within the same few seconds; written one by one from the
members' own message handling, those writes queued on the database thread and held up their signals for
seconds (bench/signaling_soak.py). Batches keep the number of writes small whatever the room sizes, and no
member waits for the database. A sample still queued when the process dies is lost, as one in flight was
before: statistics are telemetry, not something a person asked for.
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from django.utils import timezone

from . import services

logger = logging.getLogger(__name__)

BATCH = 500

_pending: list[dict] = []
_writer: asyncio.Task | None = None


def submit(*, session_id: int, participant_id: int, figures: dict) -> None:
    """Queue one sample; the writer stores it with the others that arrived meanwhile."""
    global _writer
    _pending.append(
        {"session_id": session_id, "participant_id": participant_id, "created_at": timezone.now(), **figures}
    )
    loop = asyncio.get_running_loop()
    if _writer is None or _writer.done() or _writer.get_loop() is not loop:
        _writer = loop.create_task(_write())


async def _write() -> None:
    while _pending:
        batch = _pending[:BATCH]
        del _pending[:BATCH]
        try:
            await database_sync_to_async(services.quality_samples_record)(samples=batch)
        except Exception:
            # A database outage costs these figures, never the call: the writer goes on with the next batch.
            logger.exception("call-quality samples not stored (%d)", len(batch))


def reset() -> None:
    """Forget queued samples (tests)."""
    global _writer
    _pending.clear()
    _writer = None
