"""Who is calling the SCIM endpoint: the organisation whose bearer token the request carries."""

import hmac
from datetime import timedelta

from django.utils import timezone

from tessera.accounts.models import Organisation

from ..models import ScimToken

# Compared against when the prefix names no token, so a wrong token costs the same time as a near miss.
_NOBODY = ScimToken.digest("tscim_nobody")


def bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def scim_token_find(token: str) -> ScimToken | None:
    """The token record a clear token matches, compared in constant time; None for anything else."""
    parts = token.split("_", 2)
    prefix = parts[1] if len(parts) == 3 and parts[0] == "tscim" else ""
    record = (
        ScimToken.objects.select_related("organisation").filter(prefix=prefix).first() if prefix else None
    )
    expected = record.token_hash if record is not None else _NOBODY
    if not hmac.compare_digest(expected, ScimToken.digest(token)) or record is None:
        return None
    # When the token last served, for the integration page: at most one write a minute, not one a request.
    now = timezone.now()
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
        ScimToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record


def scim_organisation(token: str) -> Organisation | None:
    record = scim_token_find(token)
    return record.organisation if record is not None else None
