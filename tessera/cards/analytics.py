"""Cookie-free daily counters: counted in memory per process, written in batches.

No address, no identifier of the visitor, nothing but a number per card, day and source. A crash loses
at most the last few seconds of counts, which is acceptable for statistics (unlike leads and emails).
"""

import threading
import time
from collections import Counter
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import Card, CardDailyStat

COUNTERS = ("views_nfc", "views_qr", "views_link", "views_direct", "vcard_saves", "exchanges")
FLUSH_SECONDS = 5.0

_lock = threading.Lock()
_pending: Counter = Counter()
_last_flush = time.monotonic()


def view_counter(*, source: str, referer: str, host: str) -> str:
    if source in ("nfc", "qr", "link"):
        return f"views_{source}"
    if referer and f"//{host}/" not in referer + "/":
        return "views_link"
    return "views_direct"


def flush_due() -> bool:
    return time.monotonic() - _last_flush >= FLUSH_SECONDS


def stat_add(*, card_id: int, counter: str, day: date | None = None) -> bool:
    """Count in memory only, safe in an event loop; True when the caller should flush (stats_flush)."""
    global _last_flush
    if counter not in COUNTERS:
        raise ValueError(counter)
    day = day or timezone.localdate()
    with _lock:
        _pending[(card_id, day, counter)] += 1
        due = time.monotonic() - _last_flush >= FLUSH_SECONDS
        if due:
            _last_flush = time.monotonic()
    return due


def stat_count(*, card_id: int, counter: str, day: date | None = None) -> None:
    if stat_add(card_id=card_id, counter=counter, day=day):
        transaction.on_commit(stats_flush)


def stats_flush() -> int:
    """Write the pending counts; returns how many (card, day, counter) cells were written."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    # Nothing is counted for a card whose owner restricted processing (views the fast path still answered
    # in the seconds before it saw the restriction are dropped here).
    from .selectors import restricted_users

    restricted = set(
        Card.objects.filter(
            pk__in={card_id for card_id, _day, _counter in batch}, owner_id__in=restricted_users()
        ).values_list("pk", flat=True)
    )
    batch = {key: n for key, n in batch.items() if key[0] not in restricted}
    viewed = set()
    for (card_id, day, counter), n in batch.items():
        if counter.startswith("views_"):
            viewed.add(card_id)
        try:
            with transaction.atomic():
                updated = CardDailyStat.objects.filter(card_id=card_id, day=day).update(
                    **{counter: F(counter) + n}
                )
                if not updated:
                    CardDailyStat.objects.create(card_id=card_id, day=day, **{counter: n})
        except IntegrityError:
            # A concurrent flush created the row, or the card was deleted meanwhile.
            CardDailyStat.objects.filter(card_id=card_id, day=day).update(**{counter: F(counter) + n})
    if viewed:
        Card.objects.filter(pk__in=viewed).update(last_viewed_at=timezone.now())
    return len(batch)
