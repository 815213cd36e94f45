"""Write-back: what an administrator changes here goes to Entra ID through a durable queue.

An edit of a directory-fed card field (job title, phones, department, office) and the group operations of
the integration page each write a WriteBack row in the transaction of the change; tessera.core.delivery
then sends it after commit, retries with back-off, and its sweep picks up what a crash or an unreachable
Graph left. A crash or an outage delays a write, never drops or doubles it: a PATCH is idempotent, a member
already added or already removed counts as done, and a group created by an attempt whose answer was lost
is found again by its mailNickname before another is created.
"""

import secrets
from datetime import timedelta

import httpx
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.accounts.selectors import is_org_admin
from tessera.core import delivery as durable
from tessera.core.text import printable

from .. import graph as graph_module
from ..mapping import attribute_map_of, entra_changes
from ..models import Connection, ExternalGroup, ExternalUser, Provider, WriteBack
from ..providers import DirectoryError
from .people import ROLES, group_apply, group_mapping_set

WRITEBACK_CLAIM_TIMEOUT = timedelta(minutes=5)
WRITEBACK_MAX_ATTEMPTS = 20  # with the engine's back-off (15 s doubling to an hour): about 16 hours
WRITEBACKS = durable.Channel(
    model=WriteBack,
    task="tessera.directory.tasks.writeback_deliver_task",
    delivered=WriteBack.Status.SENT,
    delivered_at="sent_at",
    given_up=WriteBack.Status.FAILED,
    claim_timeout=WRITEBACK_CLAIM_TIMEOUT,
    max_attempts=WRITEBACK_MAX_ATTEMPTS,
    errors=(graph_module.GraphError, graph_module.ForbiddenCall, DirectoryError, httpx.HTTPError),
    related=("connection__organisation", "actor"),
)


class WriteBackRefused(DirectoryError):
    """The write cannot be sent any more (the directory was disconnected): given up at once."""


def _permanent(error: Exception) -> bool:
    """A refusal Graph will repeat (bad value, unknown object, forbidden) is not retried."""
    if isinstance(error, graph_module.ForbiddenCall | WriteBackRefused):
        return True
    if isinstance(error, graph_module.GraphThrottled | graph_module.GraphUnauthorized):
        return False
    return isinstance(error, graph_module.GraphError) and 400 <= error.status < 500 and error.status != 408


def _live_entra(organisation) -> Connection | None:
    return Connection.objects.filter(
        organisation=organisation, provider=Provider.MICROSOFT, disconnected_at__isnull=True
    ).first()


def _queue(*, connection, operation: str, target: str, payload: dict, actor) -> WriteBack:
    row = WriteBack.objects.create(
        connection=connection, operation=operation, target=target, payload=payload, actor=actor
    )
    durable.enqueue_on_commit(WRITEBACKS, row.pk)
    return row


def _require_admin(*, organisation, actor) -> None:
    if actor is None or not is_org_admin(user=actor, organisation=organisation):
        raise PermissionDenied(_("Only an administrator of the organisation may change the directory."))


def writeback_queue_for_edit(*, membership, changes: dict, actor) -> WriteBack | None:
    """Receiver of accounts.hooks.directory_fields_edited: queue a PATCH /users/{id} of the edited fields.

    Raises ValidationError when the member's fields come from a directory Tessera cannot write to (SCIM,
    a disconnected one), or when a field is fed by an attribute that may not be written.
    """
    external_user = (
        ExternalUser.objects.filter(
            organisation_id=membership.organisation_id,
            user_id=membership.user_id,
            provider=Provider.MICROSOFT,
            removed_at__isnull=True,
        )
        .exclude(external_id="")
        .first()
    )
    connection = _live_entra(membership.organisation_id) if external_user is not None else None
    if connection is None:
        raise ValidationError(
            _("These fields come from a directory Tessera cannot write to: change them there.")
        )
    body = entra_changes(changes, attribute_map_of(connection))
    if not body:
        return None
    return _queue(
        connection=connection,
        operation=WriteBack.Operation.USER_UPDATE,
        target=external_user.external_id,
        payload=body,
        actor=actor,
    )


def _group_name(display_name: str) -> str:
    name = printable(display_name or "").replace("\n", " ").strip()
    if not name or len(name) > 256:
        raise ValidationError({"display_name": [_("A group needs a name of at most 256 characters.")]})
    return name


def _connection_of(group: ExternalGroup) -> Connection:
    connection = _live_entra(group.organisation_id) if group.provider == Provider.MICROSOFT else None
    if connection is None or not group.external_id or group.removed_at is not None:
        raise ValidationError(_("This group does not come from a connected Microsoft Entra ID directory."))
    return connection


@transaction.atomic
def group_create(
    *, connection: Connection, display_name: str, actor, template=None, role: str = ""
) -> WriteBack:
    """Queue the creation of a security group in Entra; it gives `template` and `role` once it exists."""
    _require_admin(organisation=connection.organisation, actor=actor)
    if connection.provider != Provider.MICROSOFT or not connection.is_live:
        raise ValidationError(_("Groups can be created in a connected Microsoft Entra ID directory only."))
    if role and role not in ROLES:
        raise ValidationError({"role": [_("A group can make its members administrators or members only.")]})
    payload = {
        "displayName": _group_name(display_name),
        # Ours alone: an attempt whose answer was lost is recognised by it, so no second group is made.
        "mailNickname": f"tessera-{secrets.token_hex(8)}",
        "template": str(template) if template else "",
        "role": role,
    }
    return _queue(
        connection=connection,
        operation=WriteBack.Operation.GROUP_CREATE,
        target="",
        payload=payload,
        actor=actor,
    )


@transaction.atomic
def group_rename(*, group: ExternalGroup, display_name: str, actor) -> WriteBack:
    """Queue a rename in Entra; the next sync brings the new name back here."""
    _require_admin(organisation=group.organisation, actor=actor)
    connection = _connection_of(group)
    return _queue(
        connection=connection,
        operation=WriteBack.Operation.GROUP_UPDATE,
        target=group.external_id,
        payload={"displayName": _group_name(display_name)},
        actor=actor,
    )


def _member_change(*, group: ExternalGroup, external_user: ExternalUser, actor, operation: str) -> WriteBack:
    _require_admin(organisation=group.organisation, actor=actor)
    connection = _connection_of(group)
    if external_user.organisation_id != group.organisation_id or external_user.provider != Provider.MICROSOFT:
        raise ValidationError(_("This person does not come from the same directory as the group."))
    if not external_user.external_id:
        raise ValidationError(_("This person does not come from the same directory as the group."))
    return _queue(
        connection=connection,
        operation=operation,
        target=group.external_id,
        payload={"member": external_user.external_id},
        actor=actor,
    )


@transaction.atomic
def group_member_add(*, group: ExternalGroup, external_user: ExternalUser, actor) -> WriteBack:
    return _member_change(
        group=group, external_user=external_user, actor=actor, operation=WriteBack.Operation.MEMBER_ADD
    )


@transaction.atomic
def group_member_remove(*, group: ExternalGroup, external_user: ExternalUser, actor) -> WriteBack:
    return _member_change(
        group=group, external_user=external_user, actor=actor, operation=WriteBack.Operation.MEMBER_REMOVE
    )


# --- delivery ----------------------------------------------------------------------------------------------


def _created_before(graph, nickname: str) -> dict | None:
    """The group an earlier attempt created (its answer lost to a crash), found by our mailNickname."""
    link = "/groups/delta?$select=displayName,mailNickname"
    while link:
        page = graph.get(link)
        for group in page.get("value") or []:
            if group.get("mailNickname") == nickname and "@removed" not in group:
                return group
        link = page.get("@odata.nextLink", "")
    return None


def _send(row: WriteBack, graph) -> None:
    if not row.connection.is_live:
        raise WriteBackRefused(detail="the directory was disconnected")
    graph.actor = row.actor
    payload = row.payload
    operation = row.operation
    if operation == WriteBack.Operation.USER_UPDATE:
        graph.user_update(row.target, payload)
    elif operation == WriteBack.Operation.GROUP_UPDATE:
        graph.group_update(row.target, payload)
    elif operation == WriteBack.Operation.MEMBER_ADD:
        try:
            graph.member_add(row.target, payload["member"])
        except graph_module.GraphError as error:
            if not (error.status == 400 and "already exist" in error.message):
                raise  # an attempt whose answer was lost already added them: done
    elif operation == WriteBack.Operation.MEMBER_REMOVE:
        try:
            graph.member_remove(row.target, payload["member"])
        except graph_module.GraphError as error:
            if error.status != 404:
                raise  # already removed: done
    elif operation == WriteBack.Operation.GROUP_CREATE:
        _group_create_send(row, graph)


def _group_create_send(row: WriteBack, graph) -> None:
    payload = row.payload
    created = _created_before(graph, payload["mailNickname"]) if row.attempts > 1 else None
    if created is None:
        created = graph.group_create(
            display_name=payload["displayName"], mail_nickname=payload["mailNickname"]
        )
    with transaction.atomic():
        WriteBack.objects.filter(pk=row.pk).update(target=created["id"])
        organisation = row.connection.organisation
        group = group_apply(
            organisation=organisation,
            provider=Provider.MICROSOFT,
            external_id=created["id"],
            display_name=created.get("displayName") or payload["displayName"],
        )
        if payload.get("template") or payload.get("role"):
            group_mapping_set(
                group=group, template=payload.get("template") or None, role=payload.get("role", "")
            )


def writeback_deliver(*, writeback_id, now=None, client: graph_module.GraphClient | None = None) -> bool:
    """Send one write if it is due; True if it was delivered by this call. Safe to repeat and to race."""
    from .sync import graph_client

    now = now or timezone.now()
    opened = []

    def send(row: WriteBack) -> None:
        graph = client
        if graph is None:
            graph = graph_client(row.connection)
            opened.append(graph)
        _send(row, graph)

    try:
        result = durable.attempt(WRITEBACKS, writeback_id, now=now, send=send, permanent=_permanent)
    finally:
        for graph in opened:
            graph.close()
    return result.outcome is durable.Outcome.DELIVERED


def writeback_deliver_due(*, now=None, limit: int = 100, client=None) -> int:
    """The periodic sweep: what a crash, an outage or a back-off left is tried again."""
    now = now or timezone.now()
    return sum(
        writeback_deliver(writeback_id=pk, now=now, client=client)
        for pk in durable.due_ids(WRITEBACKS, now=now, limit=limit)
    )


def writeback_retry(*, writebacks, actor) -> list:
    """Try given-up or waiting writes again now (the integration page's "retry")."""
    rows = list(writebacks)
    for row in rows:
        _require_admin(organisation=row.connection.organisation, actor=actor)
    return durable.retry(WRITEBACKS, [row.pk for row in rows])
