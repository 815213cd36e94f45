"""Entra ID sync by delta query: runs, their requests and confirmation, and the walk over the pages.

A run reads /users/delta then /groups/delta, following every @odata.nextLink to the @odata.deltaLink, which
SyncCursor keeps for the next run. Each page is applied in one transaction that also advances the cursor:
a crash leaves the page either wholly applied with the cursor past it, or not applied with the cursor on
it, so a resumed run (from SyncCursor.next_link) never applies a page twice. A delta link Graph no longer
knows (410 Gone, syncStateNotFound) starts the whole collection again; the hub answers "unchanged" for
people who did not change, and whoever is not seen by the end of such a full read has left.

A dry run reads everything and writes nothing but its SyncRun (the plan) and its problems; nothing is
applied until the administrator confirms it (sync_confirm). Runs go through the durable task queue:
sync_request enqueues after commit, and the periodic sweep (sync_due) starts deltas and resumes runs whose
worker died.
"""

from datetime import timedelta

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .. import graph as graph_module
from ..models import Connection, Provider, SyncCursor, SyncProblem, SyncRun
from ..providers import DirectoryError
from .sync_pages import GROUP_SELECT, PageContext, groups_sweep, page_apply, users_sweep

RUN_TASK = "tessera.directory.tasks.sync_run_task"
# A running sync whose heartbeat is older than this was left by a dead worker: it is resumed.
STALE_AFTER = timedelta(minutes=10)
# A queued run the queue never started (an outage) is handed to it again after this.
QUEUED_RETRY_AFTER = timedelta(minutes=5)
MAX_RESYNCS = 2
ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
# Failures that end a run quietly (recorded on it): the cursor stays, the next run resumes from it.
EXPECTED = (graph_module.GraphError, graph_module.ForbiddenCall, DirectoryError, httpx.HTTPError, OSError)


class SyncRefused(ValidationError):
    """A sync that may not start: no live Entra connection, or no dry run confirmed yet."""


def _enqueue_on_commit(run: SyncRun) -> None:
    run_id = run.pk
    transaction.on_commit(lambda: import_string(RUN_TASK)(run_id), robust=True)


def _check_connection(connection: Connection) -> None:
    if connection.provider != Provider.MICROSOFT or not connection.is_live:
        raise SyncRefused(_("Only a connected Microsoft Entra ID directory can be synchronised."))


@transaction.atomic
def sync_request(*, connection: Connection, actor=None, kind: str = SyncRun.Kind.DELTA) -> SyncRun:
    """Queue a sync on the durable task queue; a sync already queued or running is answered instead.

    Before the administrator confirmed a dry run, only a dry run may be requested (SyncRefused).
    """
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    _check_connection(connection)
    if kind != SyncRun.Kind.DRY_RUN and connection.confirmed_at is None:
        raise SyncRefused(_("Review a dry run and confirm it before the first sync."))
    current = connection.runs.filter(status__in=ACTIVE).first()
    if current is not None:
        return current
    run = SyncRun.objects.create(connection=connection, kind=kind, requested_by=actor)
    _enqueue_on_commit(run)
    return run


def sync_dry_run(*, connection: Connection, actor) -> SyncRun:
    """Queue a dry run: who would be created, updated and deactivated; it writes nothing but its plan."""
    return sync_request(connection=connection, actor=actor, kind=SyncRun.Kind.DRY_RUN)


@transaction.atomic
def sync_confirm(*, run: SyncRun, actor) -> SyncRun:
    """The administrator accepts a dry run's plan: the connection is confirmed and a full sync queued."""
    run = SyncRun.objects.select_for_update().select_related("connection").get(pk=run.pk)
    if run.kind != SyncRun.Kind.DRY_RUN or run.status != SyncRun.Status.PLANNED:
        raise SyncRefused(_("Only a finished dry run can be confirmed."))
    connection = run.connection
    _check_connection(connection)
    if connection.confirmed_at is None:
        Connection.objects.filter(pk=connection.pk).update(confirmed_at=timezone.now())
        connection.confirmed_at = timezone.now()
    from tessera.core.audit import security_event_record

    security_event_record(
        action="directory.sync.confirmed", actor=actor, data={"connection": connection.pk, "run": run.pk}
    )
    return sync_request(connection=connection, actor=actor, kind=SyncRun.Kind.FULL)


def _claim(run_id) -> SyncRun | None:
    """Take the run for this worker: queued, or running with a heartbeat old enough to be a dead worker's."""
    now = timezone.now()
    taken = (
        SyncRun.objects.filter(pk=run_id)
        .filter(
            Q(status=SyncRun.Status.QUEUED)
            | Q(status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        )
        .update(status=SyncRun.Status.RUNNING, heartbeat_at=now)
    )
    if not taken:
        return None
    SyncRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=now)
    run = SyncRun.objects.select_related("connection__organisation").get(pk=run_id)
    if not run.expected and run.kind != SyncRun.Kind.DELTA:
        # Graph's delta gives no total: the last whole read's count is the progress bar's best guess.
        last = (
            SyncRun.objects.filter(
                connection_id=run.connection_id, status__in=[SyncRun.Status.DONE, SyncRun.Status.PLANNED]
            )
            .exclude(kind=SyncRun.Kind.DELTA)
            .exclude(pk=run.pk)
            .order_by("-created_at")
            .values_list("seen", flat=True)
            .first()
        )
        if last:
            SyncRun.objects.filter(pk=run.pk).update(expected=last)
            run.expected = last
    return run


def graph_client(connection: Connection, *, actor=None, **options) -> graph_module.GraphClient:
    """A Graph client with the connection's access token, held in memory for this job only."""
    from .tokens import connection_token_source

    return graph_module.GraphClient(
        token=connection_token_source(connection=connection),
        actor=actor,
        connection_id=connection.pk,
        **options,
    )


def sync_run(*, run_id, client: graph_module.GraphClient | None = None, after_page=None) -> SyncRun:
    """The task body: walk users then groups from where the cursors stand, page by page.

    `after_page(run, resource, pages)` runs after each committed page (tests kill a run with it). A run
    another worker holds is left alone. A Graph failure fails the run and keeps the cursor, so the next
    run resumes where this one stopped.
    """
    run = _claim(run_id)
    if run is None:
        return SyncRun.objects.get(pk=run_id)
    connection = run.connection
    own = client is None
    graph = client or graph_client(connection)
    if run.kind == SyncRun.Kind.DRY_RUN:
        _dry_run_reset(run)
    try:
        context = PageContext.build(run=run, graph=graph)
        for resource in (SyncCursor.Resource.USERS, SyncCursor.Resource.GROUPS):
            _walk(context, resource, after_page)
        _finish(run, context)
    except Exception as error:
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.FAILED, finished_at=timezone.now(), error=_describe(error)
        )
        if not isinstance(error, EXPECTED):
            raise
    finally:
        if own:
            graph.close()
    return SyncRun.objects.get(pk=run.pk)


def _dry_run_reset(run: SyncRun) -> None:
    """A dry run keeps no cursor: one a dead worker left starts again from nothing, its counts with it."""
    counts = ("created", "updated", "deactivated", "unchanged", "failed", "pages", "seen")
    SyncRun.objects.filter(pk=run.pk).update(**dict.fromkeys(counts, 0), plan={})
    SyncProblem.objects.filter(run=run).delete()


def _describe(error: Exception) -> str:
    if isinstance(error, DirectoryError):
        return str(error.message)
    if isinstance(error, graph_module.GraphUnauthorized):
        return _("Microsoft refused the connection's access: reconnect the directory.")
    if isinstance(error, graph_module.GraphThrottled):
        return _("Microsoft kept asking to slow down; the sync resumes at its next run.")
    if isinstance(error, graph_module.GraphError):
        return _("Microsoft answered an error (%(error)s); the sync resumes at its next run.") % {
            "error": str(error)[:300]
        }
    return f"{type(error).__name__}: {error}"[:1000]


def _initial_link(context: PageContext, resource: str) -> str:
    if resource == SyncCursor.Resource.USERS:
        return f"/users/delta?$select={context.user_select}"
    return f"/groups/delta?$select={GROUP_SELECT}"


def _restart(cursor: SyncCursor, link: str) -> SyncCursor:
    """Read the whole collection again from `link`: whoever is not seen again by its end has left."""
    SyncCursor.objects.filter(pk=cursor.pk).update(
        next_link=link, delta_link="", full_since=timezone.now(), last_page="", groups_seen=[],
        updated_at=timezone.now(),
    )  # fmt: skip
    cursor.refresh_from_db()
    return cursor


def _start(context: PageContext, resource: str) -> SyncCursor | None:
    """Where this run reads `resource` from; None when this run already read it to its end."""
    run = context.run
    cursor, _created = SyncCursor.objects.get_or_create(connection=context.connection, resource=resource)
    if cursor.next_link or cursor.full_since is not None:
        return cursor  # a read in progress (a crash, a failure): resume it, or finish its sweep
    if cursor.delta_link and cursor.updated_at >= run.started_at:
        return None  # this run finished it before it was interrupted
    if run.kind == SyncRun.Kind.FULL or not cursor.delta_link:
        return _restart(cursor, _initial_link(context, resource))
    SyncCursor.objects.filter(pk=cursor.pk).update(next_link=cursor.delta_link, updated_at=timezone.now())
    cursor.refresh_from_db()
    return cursor


def _walk(context: PageContext, resource: str, after_page) -> None:
    """Fetch and apply pages until the deltaLink; a dry run keeps its own place and touches no cursor."""
    run = context.run
    if run.kind == SyncRun.Kind.DRY_RUN:
        cursor, link = None, _initial_link(context, resource)
    else:
        cursor = _start(context, resource)
        if cursor is None:
            return
        link = cursor.next_link
    resyncs = 0
    while link:
        try:
            page = context.graph.get(link)
        except graph_module.ResyncRequired:
            resyncs += 1
            if resyncs > MAX_RESYNCS:
                raise
            if cursor is None:
                context.seen_ids.clear()
                link = _initial_link(context, resource)
            else:
                link = _restart(cursor, _initial_link(context, resource)).next_link
            continue
        link = page_apply(context, resource, page, link=link, cursor=cursor)
        if after_page is not None:
            after_page(run, resource, SyncRun.objects.get(pk=run.pk).pages)
    if resource == SyncCursor.Resource.USERS and (cursor is None or cursor.full_since is not None):
        users_sweep(context, cursor=cursor)
    elif cursor is not None:
        cursor.refresh_from_db()
        if cursor.full_since is not None:
            groups_sweep(context, cursor=cursor)


def _finish(run: SyncRun, context) -> None:
    done = SyncRun.Status.PLANNED if run.kind == SyncRun.Kind.DRY_RUN else SyncRun.Status.DONE
    fields = {"status": done, "finished_at": timezone.now(), "error": ""}
    if run.kind == SyncRun.Kind.DRY_RUN:
        fields["plan"] = context.plan
    SyncRun.objects.filter(pk=run.pk).update(**fields)


def sync_due(*, now=None) -> list:
    """The periodic sweep: resume runs a dead worker or a queue outage left, start the deltas that are due.

    Answers the ids of the runs it handed to the queue.
    """
    now = now or timezone.now()
    handed = []
    left = SyncRun.objects.filter(
        Q(status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        | Q(status=SyncRun.Status.QUEUED, created_at__lt=now - QUEUED_RETRY_AFTER)
    ).values_list("pk", flat=True)
    for run_id in left:
        import_string(RUN_TASK)(run_id)
        handed.append(run_id)
    interval = timedelta(minutes=settings.DIRECTORY["SYNC_INTERVAL_MINUTES"])
    connections = Connection.objects.filter(
        provider=Provider.MICROSOFT,
        disconnected_at__isnull=True,
        sync_enabled=True,
        confirmed_at__isnull=False,
    ).exclude(runs__status__in=ACTIVE)
    for connection in connections:
        last = connection.runs.exclude(kind=SyncRun.Kind.DRY_RUN).order_by("-created_at").first()
        if last is None or last.created_at <= now - interval:
            run = sync_request(connection=connection, kind=SyncRun.Kind.DELTA)
            handed.append(run.pk)
    return handed
