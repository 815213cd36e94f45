"""The retention engine: applies every activity's rule, in small transactions, and logs the counts.

A rule selects what is due from the clock alone, so running it twice does nothing more, and a sweep
interrupted by a crash resumes where it stopped on the next run.
"""

import logging
from contextlib import contextmanager

from django.db import connections, models, transaction
from django.db.models import signals
from django.utils import timezone

from tessera.core.audit import security_event_record

from .register import registry

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# During a sweep SQLite checkpoints its write-ahead log every this many pages instead of 1,000: each
# checkpoint syncs the file, and deleting 1,000 rows dirties hundreds of index pages, so the default
# would sync at nearly every batch. One passive checkpoint runs at the end.
SWEEP_CHECKPOINT_PAGES = 25_000


def _plain_cascades(model):
    """The (model, fk) pairs to delete along with `model` when SQL alone can do it, else None.

    True when no signal listens and every relation is a plain cascade to a model nothing points at:
    then rows leave by two DELETE statements per batch instead of Django's collector.
    """
    if (
        model._meta.many_to_many
        or signals.pre_delete.has_listeners(model)
        or signals.post_delete.has_listeners(model)
    ):
        return None
    cascades = []
    for relation in model._meta.related_objects:
        related = relation.related_model
        if relation.on_delete is models.DO_NOTHING:
            continue
        if (
            relation.on_delete is not models.CASCADE
            or relation.many_to_many
            or related._meta.related_objects
            or related._meta.many_to_many
            or signals.pre_delete.has_listeners(related)
            or signals.post_delete.has_listeners(related)
        ):
            return None
        cascades.append((related, relation.field.name))
    return cascades


def batched_delete(queryset, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete every row of `queryset`, at most `batch_size` per transaction; returns the count."""
    model = queryset.model
    using = queryset.db
    cascades = _plain_cascades(model)
    connection = connections[using]
    quote = connection.ops.quote_name
    select_sql, select_params = queryset.values_list("pk")[:batch_size].query.sql_with_params()
    total = 0
    while True:
        with transaction.atomic(using=using):
            if cascades is None:
                pks = list(queryset.values_list("pk", flat=True)[:batch_size])
                if not pks:
                    return total
                model._base_manager.using(using).filter(pk__in=pks).delete()
                total += len(pks)
                continue
            # Raw values straight from the database: no model instances, no conversions.
            with connection.cursor() as cursor:
                cursor.execute(select_sql, select_params)
                pks = [row[0] for row in cursor.fetchall()]
                if not pks:
                    return total
                marks = ", ".join(["%s"] * len(pks))
                for related, field in cascades:
                    column = related._meta.get_field(field).column
                    cursor.execute(
                        f"DELETE FROM {quote(related._meta.db_table)} WHERE {quote(column)} IN ({marks})",  # noqa: S608
                        pks,
                    )
                cursor.execute(
                    f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} IN ({marks})",  # noqa: S608
                    pks,
                )
            total += len(pks)


def batched_update(queryset, *, values: dict, batch_size: int = BATCH_SIZE) -> int:
    """Overwrite fields (irreversible anonymisation) in batches; `queryset` must stop matching after."""
    model = queryset.model
    total = 0
    while True:
        with transaction.atomic():
            pks = list(queryset.values_list("pk", flat=True)[:batch_size])
            if not pks:
                return total
            model._base_manager.filter(pk__in=pks).update(**values)
            total += len(pks)


@contextmanager
def sqlite_bulk_writes(using: str = "default"):
    """Fewer, larger WAL checkpoints while the block runs (SQLite only; other databases are untouched)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint={SWEEP_CHECKPOINT_PAGES:d}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(previous):d}")
            if not connection.in_atomic_block:  # SQLite cannot checkpoint inside a transaction
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")


def retention_sweep(*, now=None) -> dict[str, int]:
    """Apply every rule of the register; returns and logs the rows deleted or anonymised per activity."""
    from .models import RetentionRun

    now = now or timezone.now()
    counts: dict[str, int] = {}
    failures = []
    with sqlite_bulk_writes():
        for name, retention in registry.retention_rules():
            try:
                count = retention.apply(now=now)
            except Exception:
                log.exception("retention rule of %s failed", name)
                failures.append(name)
                continue
            counts[name] = count
            run, _ = RetentionRun.objects.get_or_create(activity=name, defaults={"last_run_at": now})
            run.last_run_at, run.last_count = now, count
            run.total_count += count
            run.save()
    security_event_record(
        action="privacy.retention_sweep",
        data={"counts": counts, "failed": failures, "at": now.isoformat()},
    )
    return counts
