"""Connections to Google Workspace and Entra ID: connecting, the Google administrator check, disconnecting.

Only an organisation's administrator connects. The authorisation state and the PKCE verifier stay in the
server-side session, bound to that person and organisation, and are used once. Each Google administrator
check goes into the security log, never a token. Tokens themselves are tokens.py's (re-exported here).
"""

import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.accounts import hooks
from tessera.accounts.models import Organisation
from tessera.accounts.selectors import is_org_admin
from tessera.core.audit import security_event_record

from .. import google, microsoft
from ..crypto import TokenUnreadable, token_open, token_seal
from ..models import SOURCE_NAMES, Connection, Provider, SyncRun
from ..providers import (  # noqa: F401 (the typed errors the pages catch, importable from here)
    ConsentRefused,
    DirectoryError,
    FlowInvalid,
    NotOrganisationAdmin,
    NotWorkspaceAdmin,
    OtherDirectory,
    ProviderRefused,
    ProviderUnreachable,
    ScopesMissing,
    TokenRevoked,
)
from .tokens import (  # noqa: F401
    connection_access_token,
    connection_token_source,
    connection_tokens_expire,
    google_revoke_quietly,
)

FLOW_KEY = "tessera.directory.connect"
FLOW_LIFETIME = 600  # seconds between leaving for the provider and coming back
FLOWS_KEPT = 4  # attempts pending at once in one session (two tabs, a retry)
ADMIN_CHECK_MAX_AGE = timedelta(minutes=10)


def _require_org_admin(*, organisation, actor) -> None:
    if actor is None or not is_org_admin(user=actor, organisation=organisation):
        raise NotOrganisationAdmin()


# --- the authorisation state, in the server-side session ----------------------------------------------------


def _flow_put(*, session, state: str, flow: dict) -> None:
    now = time.time()
    flows = {
        key: value
        for key, value in (session.get(FLOW_KEY) or {}).items()
        if now - value.get("started", 0) < FLOW_LIFETIME
    }
    flows[state] = {**flow, "started": now}
    session[FLOW_KEY] = dict(sorted(flows.items(), key=lambda item: item[1]["started"])[-FLOWS_KEPT:])


def _flow_take(*, session, query, provider: str, organisation, actor) -> tuple[dict, Organisation]:
    """The attempt the provider sent back, removed from the session whatever happens next (single use)."""
    state = str(query.get("state") or "")
    flows = dict(session.get(FLOW_KEY) or {})
    flow = flows.pop(state, None) if state else None
    session[FLOW_KEY] = flows
    if (
        flow is None
        or flow.get("provider") != provider
        or (organisation is not None and flow.get("organisation") != organisation.pk)
        or flow.get("actor") != getattr(actor, "pk", None)
        or time.time() - flow.get("started", 0) >= FLOW_LIFETIME
    ):
        raise FlowInvalid()
    organisation = organisation or Organisation.objects.filter(pk=flow.get("organisation")).first()
    if organisation is None:
        raise FlowInvalid()
    return flow, organisation


def _refusal_record(*, organisation, actor, provider: str, error: DirectoryError, request=None) -> None:
    security_event_record(
        action="directory.connection.refused",
        actor=actor,
        request=request,
        data={"organisation": organisation.pk, "provider": provider, "error": error.code},
    )


# --- Google Workspace ----------------------------------------------------------------------------------------


def google_connect_url(*, organisation, actor, redirect_uri: str, session) -> str:
    """Where to send the organisation's administrator to grant the seed's Google scopes."""
    _require_org_admin(organisation=organisation, actor=actor)
    start = google.authorisation_start(redirect_uri=redirect_uri)
    _flow_put(
        session=session,
        state=start.state,
        flow={
            "provider": Provider.GOOGLE.value,
            "organisation": organisation.pk,
            "actor": actor.pk,
            "verifier": start.verifier,
            "redirect_uri": redirect_uri,
        },
    )
    return start.url


def google_connect_complete(*, actor, session, query, organisation=None, request=None) -> Connection:
    """The callback: redeem the code, require a Workspace administrator, keep the sealed refresh token."""
    flow, organisation = _flow_take(
        session=session, query=query, provider=Provider.GOOGLE.value, organisation=organisation, actor=actor
    )
    token: dict = {}
    try:
        _require_org_admin(organisation=organisation, actor=actor)
        token = _google_code_redeem(flow=flow, query=query)
        return _google_connection_make(organisation=organisation, actor=actor, token=token, request=request)
    except DirectoryError as error:
        # Nothing was kept: the grant Google just issued, if any, is withdrawn too.
        google_revoke_quietly(token.get("refresh_token") or token.get("access_token", ""))
        _refusal_record(
            organisation=organisation, actor=actor, provider="google", error=error, request=request
        )
        raise


def _google_code_redeem(*, flow: dict, query) -> dict:
    if query.get("error"):
        error = str(query["error"])
        raise ConsentRefused(detail=error) if error == "access_denied" else ProviderRefused(detail=error)
    if not query.get("code"):
        raise FlowInvalid()
    try:
        return google.code_exchange(
            code=str(query["code"]), verifier=flow["verifier"], redirect_uri=flow["redirect_uri"]
        )
    except ProviderRefused as error:
        if error.oauth_error == "invalid_grant":
            raise FlowInvalid(detail=error.detail) from None
        raise


def _google_connection_make(*, organisation, actor, token: dict, request) -> Connection:
    missing = set(google.SCOPES) - google.granted_scopes(token)
    if missing:
        raise ScopesMissing(detail=" ".join(sorted(missing)))
    if not token.get("refresh_token"):
        raise ProviderRefused(detail="no refresh token: offline access was not granted")
    access = token["access_token"]
    who = google.identity(access_token=access)
    check = google.admin_check(access_token=access, user_key=who["sub"])
    _admin_check_record(
        organisation=organisation,
        actor=actor,
        connection=None,
        check=check,
        source="connect",
        request=request,
    )
    if not check.is_admin:
        raise NotWorkspaceAdmin()
    workspace = google.customer(access_token=access)
    return _connection_save(
        organisation=organisation,
        provider=Provider.GOOGLE,
        actor=actor,
        tenant_id=workspace["id"],
        display_name=workspace["name"],
        primary_domain=workspace["domain"],
        connected_as=str(who["email"])[:254],
        refresh_token=token["refresh_token"],
        request=request,
    )


def _admin_check_record(*, organisation, actor, connection, check, source: str, request=None) -> None:
    security_event_record(
        action="directory.google_admin.checked",
        actor=actor,
        request=request,
        data={
            "organisation": organisation.pk,
            "connection": getattr(connection, "pk", None),
            "result": bool(check.is_admin) if check is not None else False,
            "roles": list(check.roles) if check is not None else [],
            "source": source,
        },
    )


def google_admin_verify(*, connection, actor, request=None) -> bool:
    """Whether the connected Google account is still a Workspace administrator who may update users.

    Trusted from the last check for at most ten minutes, else asked again (roleAssignments + roles).
    Every check, from the cache or from Google, goes into the security log. A revoked token or an
    unreachable Google raises its typed error after being logged.
    """
    if connection.provider != Provider.GOOGLE:
        raise ValueError("only a Google Workspace connection has an administrator check")
    organisation = connection.organisation
    connection.refresh_from_db(fields=["admin_checked_at", "refresh_token", "disconnected_at"])
    if actor is None or not is_org_admin(user=actor, organisation=organisation):
        _admin_check_record(
            organisation=organisation, actor=actor, connection=connection, check=None, source="not_org_admin"
        )
        return False
    checked = connection.admin_checked_at
    if (
        checked
        and timezone.now() - checked <= ADMIN_CHECK_MAX_AGE
        and connection.is_live
        and connection.refresh_token
    ):
        _admin_check_record(
            organisation=organisation,
            actor=actor,
            connection=connection,
            check=google.AdminCheck(is_admin=True, roles=()),
            source="cache",
            request=request,
        )
        return True
    try:
        access = connection_access_token(connection=connection)
        who = google.identity(access_token=access)
        check = google.admin_check(access_token=access, user_key=who["sub"])
    except DirectoryError as error:
        Connection.objects.filter(pk=connection.pk).update(admin_checked_at=None)
        security_event_record(
            action="directory.google_admin.checked",
            actor=actor,
            request=request,
            data={
                "organisation": organisation.pk,
                "connection": connection.pk,
                "result": False,
                "error": error.code,
                "source": "google",
            },
        )
        raise
    connection.admin_checked_at = timezone.now() if check.is_admin else None
    Connection.objects.filter(pk=connection.pk).update(admin_checked_at=connection.admin_checked_at)
    _admin_check_record(
        organisation=organisation,
        actor=actor,
        connection=connection,
        check=check,
        source="google",
        request=request,
    )
    return check.is_admin


def google_admin_require(*, connection, actor, request=None) -> None:
    """google_admin_verify, raising NotWorkspaceAdmin (or NotOrganisationAdmin) instead of answering False."""
    if google_admin_verify(connection=connection, actor=actor, request=request):
        return
    if actor is None or not is_org_admin(user=actor, organisation=connection.organisation):
        raise NotOrganisationAdmin()
    raise NotWorkspaceAdmin()


# --- Microsoft Entra ID ------------------------------------------------------------------------------------


def microsoft_connect_url(*, organisation, actor, redirect_uri: str, session) -> str:
    """Where to send the administrator to sign in to Entra ID and consent to the seed's permissions."""
    _require_org_admin(organisation=organisation, actor=actor)
    flow = microsoft.authorisation_start(redirect_uri=redirect_uri)
    _flow_put(
        session=session,
        state=flow["state"],
        flow={
            "provider": Provider.MICROSOFT.value,
            "organisation": organisation.pk,
            "actor": actor.pk,
            "msal": flow,
        },
    )
    return flow["auth_uri"]


def microsoft_connect_complete(*, actor, session, query, organisation=None, request=None) -> Connection:
    """The callback: redeem the code with msal, read the tenant, keep the sealed refresh token."""
    flow, organisation = _flow_take(
        session=session,
        query=query,
        provider=Provider.MICROSOFT.value,
        organisation=organisation,
        actor=actor,
    )
    try:
        _require_org_admin(organisation=organisation, actor=actor)
        granted = microsoft.authorisation_complete(flow=flow["msal"], query=dict(query))
        tenant = microsoft.organisation(access_token=granted["access_token"])
        if tenant["id"] and tenant["id"] != granted["tenant_id"]:
            raise ProviderRefused(detail="the organisation read is not the tenant that signed in")
        return _connection_save(
            organisation=organisation,
            provider=Provider.MICROSOFT,
            actor=actor,
            tenant_id=granted["tenant_id"],
            display_name=tenant["name"],
            primary_domain=tenant["domain"],
            connected_as=granted["account"],
            refresh_token=granted["refresh_token"],
            request=request,
        )
    except DirectoryError as error:
        _refusal_record(
            organisation=organisation, actor=actor, provider="microsoft", error=error, request=request
        )
        raise


# --- both ----------------------------------------------------------------------------------------------------


@transaction.atomic
def _connection_save(
    *,
    organisation,
    provider,
    actor,
    tenant_id,
    display_name,
    primary_domain,
    connected_as,
    refresh_token,
    request,
) -> Connection:
    now = timezone.now()
    connection = (
        Connection.objects.select_for_update()
        .filter(organisation=organisation, provider=provider, disconnected_at__isnull=True)
        .first()
    )
    if connection is not None and connection.tenant_id and connection.tenant_id != tenant_id:
        raise OtherDirectory(detail=f"{connection.tenant_id} -> {tenant_id}")
    if connection is None:
        connection = Connection(organisation=organisation, provider=provider)
    connection.tenant_id = tenant_id
    connection.display_name = display_name
    connection.primary_domain = primary_domain
    connection.connected_by = actor
    connection.connected_as = connected_as
    connection.connected_at = now
    connection.refresh_token = token_seal(refresh_token)
    connection.token_used_at = now
    # The Google account was checked a moment ago; Entra has no such check.
    connection.admin_checked_at = now if provider == Provider.GOOGLE else None
    connection.save()
    security_event_record(
        action="directory.connection.connected",
        actor=actor,
        request=request,
        data={
            "organisation": organisation.pk,
            "connection": connection.pk,
            "provider": provider,
            "tenant": tenant_id,
        },
    )
    return connection


def connection_disconnect(*, connection, actor, request=None) -> bool:
    """Revoke (Google), delete the tokens, stop the sync, release the members' fields; keep the members.

    Answers whether the provider confirmed the revocation (always True for Entra ID, which has no
    revocation endpoint for one application's grant); the tokens are deleted here either way.
    """
    _require_org_admin(organisation=connection.organisation, actor=actor)
    connection.refresh_from_db()
    if not connection.is_live:
        return True
    revoked = True
    if connection.provider == Provider.GOOGLE and connection.refresh_token:
        try:
            revoked = google_revoke_quietly(token_open(connection.refresh_token))
        except TokenUnreadable:
            revoked = False
    _disconnect_write(connection=connection, actor=actor, revoked=revoked, request=request)
    return revoked


@transaction.atomic
def _disconnect_write(*, connection, actor, revoked: bool, request) -> None:
    row = Connection.objects.select_for_update().get(pk=connection.pk)
    if not row.is_live:
        return
    now = timezone.now()
    row.refresh_token, row.token_used_at, row.admin_checked_at = "", None, None
    row.disconnected_at, row.sync_enabled = now, False
    row.save(
        update_fields=[
            "refresh_token",
            "token_used_at",
            "admin_checked_at",
            "disconnected_at",
            "sync_enabled",
        ]
    )
    stopped = SyncRun.objects.filter(
        connection=row, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING, SyncRun.Status.PLANNED]
    ).update(status=SyncRun.Status.FAILED, finished_at=now, error=_("The directory was disconnected."))
    # The same source name the sync gave the cards (people.py): those cards' fields are released.
    hooks.directory_released.send(organisation=row.organisation, source=SOURCE_NAMES[Provider(row.provider)])
    security_event_record(
        action="directory.connection.disconnected",
        actor=actor,
        request=request,
        data={
            "organisation": row.organisation_id,
            "connection": row.pk,
            "provider": row.provider,
            "revoked": revoked,
            "syncs_stopped": stopped,
        },
    )
    connection.refresh_from_db()
