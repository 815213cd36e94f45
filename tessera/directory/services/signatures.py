"""The directory's side of email signatures: the administrator check and the Gmail write, as hook receivers.

signatures never imports the directory: it asks through tessera.accounts.hooks, and these answer. The
signatures service logs each push by member and result; nothing here logs a token or a signature.
"""

import random
import threading

from django.conf import settings
from django.utils.translation import gettext as _

from tessera.accounts import hooks

from .. import gmail
from ..models import Connection, Provider
from ..providers import DirectoryError
from .connections import google_admin_require

_local = threading.local()


def _connection(organisation) -> Connection | None:
    return Connection.objects.filter(
        organisation=organisation, provider=Provider.GOOGLE, disconnected_at__isnull=True
    ).first()


def signature_push_allowed(*, organisation, actor, request=None, check: bool = True) -> dict:
    """Asks Google again (within its ten-minute trust) whether the pushing administrator still may.

    With check=False it only says what a page shows: connected or not, the client id, the domains.
    """
    connection = _connection(organisation)
    if not check:
        return {
            "allowed": None,
            "connected": connection is not None,
            "client_id": gmail.service_account_client_id(),
            "domains": _domains(connection) if connection else [],
        }
    if connection is None:
        return {
            "allowed": False,
            "message": _("Connect Google Workspace before pushing signatures to Gmail."),
            "domains": [],
            "client_id": "",
        }
    client_id = gmail.service_account_client_id()
    try:
        google_admin_require(connection=connection, actor=actor, request=request)
        if not client_id:
            raise gmail.ServiceAccountMissing()
    except DirectoryError as error:
        return {"allowed": False, "message": str(error.message), "domains": [], "client_id": client_id}
    return {"allowed": True, "message": "", "domains": _domains(connection), "client_id": client_id}


def _domains(connection) -> list[str]:
    domains = {connection.primary_domain.lower(), *(str(d).lower() for d in connection.scope_domains or [])}
    return sorted(d for d in domains if d)


def _client() -> gmail.Gmail:
    """One client per worker thread (kept-alive connection, members' tokens in memory), per configuration."""
    c = settings.DIRECTORY
    key = (c["GOOGLE_TOKEN_URL"], c["GOOGLE_GMAIL_URL"], c.get("GOOGLE_SERVICE_ACCOUNT_KEY"))
    held = getattr(_local, "gmail", None)
    if held is None or held[0] != key:
        if held is not None:
            held[1].close()
        _local.gmail = held = (key, gmail.Gmail())
    return held[1]


def signature_gmail_patch(*, organisation, email: str, signature: str, verify: bool = False) -> dict:
    """sendAs.patch of one member's signature; Google's refusals become an answer, never an exception."""
    answer = {"result": "updated", "message": "", "retry_after": None, "scope": "user", "uncertain": False}
    try:
        client = _client()
        if verify and gmail.fingerprint(client.signature_get(email=email)) == gmail.fingerprint(signature):
            answer["result"] = "unchanged"  # a push cut short by a crash had reached Gmail already
        else:
            client.signature_set(email=email, signature=signature)
    except gmail.GmailBusy as error:
        answer.update(
            result="retry",
            message=error.detail,
            # Jitter so that members deferred together do not come back together.
            retry_after=None if error.retry_after is None else error.retry_after + random.uniform(0, 0.2),
            scope="user" if error.per_user or error.retry_after is None else "project",
            uncertain=error.uncertain,
        )
    except DirectoryError as error:
        answer.update(result="failed", message=error.detail or str(error.message))
    return answer


def connect() -> None:
    hooks.signature_push_allowed.connect(signature_push_allowed)
    hooks.signature_gmail_patch.connect(signature_gmail_patch)
