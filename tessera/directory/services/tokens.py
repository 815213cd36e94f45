"""Refresh and access tokens of a directory connection: in memory for one job, sealed at rest, deleted on time.

An access token lives in the caller's memory for one job. The refresh token is sealed (crypto.py) and
deleted when the provider answers invalid_grant, when no key opens it, or after 90 days unused (the
periodic job below, and on use). Call these outside a transaction: a token deleted because the provider
refused it must stay deleted even though the caller's work then fails.
"""

import time
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tessera.core.audit import security_event_record

from .. import google, microsoft
from ..crypto import TokenUnreadable, token_open, token_seal
from ..models import Connection, Provider
from ..providers import DirectoryError, ProviderRefused, TokenRevoked

TOKEN_UNUSED_LIMIT = timedelta(days=90)
TOKEN_MARGIN = 120  # seconds before an access token's expiry when a job fetches a new one


def google_revoke_quietly(token: str) -> bool:
    if not token:
        return True
    try:
        return google.token_revoke(token=token)
    except DirectoryError:
        return False


def _unused_too_long(connection, now) -> bool:
    last = connection.token_used_at or connection.connected_at
    return last is not None and now - last > TOKEN_UNUSED_LIMIT


@transaction.atomic
def _token_delete(*, connection, reason: str, actor=None, request=None) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        refresh_token="", token_used_at=None, admin_checked_at=None
    )
    connection.refresh_token, connection.token_used_at, connection.admin_checked_at = "", None, None
    security_event_record(
        action="directory.token.deleted",
        actor=actor,
        request=request,
        data={
            "organisation": connection.organisation_id,
            "connection": connection.pk,
            "provider": connection.provider,
            "reason": reason,
        },
    )


def _access_token_fetch(*, connection) -> tuple[str, int]:
    connection.refresh_from_db(fields=["refresh_token", "token_used_at", "connected_at", "disconnected_at"])
    if not connection.is_live or not connection.refresh_token:
        raise TokenRevoked()
    now = timezone.now()
    if _unused_too_long(connection, now):
        _token_delete(connection=connection, reason="unused")
        raise TokenRevoked()
    sealed = connection.refresh_token
    try:
        refresh = token_open(sealed)
    except TokenUnreadable:
        _token_delete(connection=connection, reason="unreadable")
        raise TokenRevoked() from None
    try:
        if connection.provider == Provider.GOOGLE:
            answer = google.access_token_refresh(refresh_token=refresh)
        else:
            answer = microsoft.access_token_refresh(refresh_token=refresh, tenant=connection.tenant_id)
    except TokenRevoked:
        _token_delete(connection=connection, reason="invalid_grant")
        raise
    except ProviderRefused as error:
        if error.oauth_error != "invalid_grant":
            raise
        _token_delete(connection=connection, reason="invalid_grant")
        raise TokenRevoked(detail=error.detail) from None
    rotated = answer.get("refresh_token") or refresh
    updates = {"token_used_at": now}
    if rotated != refresh:
        updates["refresh_token"] = token_seal(rotated)
    # Only over the token just used: a disconnect meanwhile wins, and its deletion stays.
    if not Connection.objects.filter(
        pk=connection.pk, refresh_token=sealed, disconnected_at__isnull=True
    ).update(**updates):
        connection.refresh_from_db(fields=["refresh_token", "disconnected_at"])
        if not connection.is_live or not connection.refresh_token:
            raise TokenRevoked()
    connection.token_used_at = now
    return answer["access_token"], int(answer.get("expires_in") or 3600)


def connection_access_token(*, connection) -> str:
    """A fresh access token, for the caller's memory only. TokenRevoked when the grant is gone (deleted)."""
    return _access_token_fetch(connection=connection)[0]


def connection_token_source(*, connection) -> Callable[[], str]:
    """For one job: a callable answering an access token, fetched again shortly before it expires."""
    held = {"token": "", "until": 0.0}

    def token() -> str:
        if not held["token"] or time.time() >= held["until"]:
            access, lifetime = _access_token_fetch(connection=connection)
            held["token"], held["until"] = access, time.time() + max(lifetime - TOKEN_MARGIN, 30)
        return held["token"]

    return token


def connection_tokens_expire(*, now=None) -> int:
    """The periodic job: delete every refresh token unused for 90 days (revoked at Google first)."""
    now = now or timezone.now()
    limit = now - TOKEN_UNUSED_LIMIT
    stale = Connection.objects.exclude(refresh_token="").filter(
        Q(token_used_at__lt=limit) | Q(token_used_at__isnull=True, connected_at__lt=limit)
    )
    count = 0
    for connection in stale:
        if connection.provider == Provider.GOOGLE:
            try:
                google_revoke_quietly(token_open(connection.refresh_token))
            except TokenUnreadable:
                pass
        _token_delete(connection=connection, reason="unused")
        count += 1
    return count
