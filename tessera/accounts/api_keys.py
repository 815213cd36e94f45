"""Organisation API keys: `tsk_<prefix>_<secret>`; the database keeps a SHA-256 of the whole key."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from ninja.security import HttpBearer

from .models import Organisation, OrganisationApiKey


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, organisation: Organisation, name: str) -> tuple[OrganisationApiKey, str]:
    """Create a key; the clear key is returned once and never stored."""
    prefix = secrets.token_hex(4)
    key = f"tsk_{prefix}_{secrets.token_urlsafe(32)}"
    record = OrganisationApiKey.objects.create(
        organisation=organisation, name=name, prefix=prefix, key_hash=_digest(key)
    )
    return record, key


@transaction.atomic
def api_key_revoke(*, api_key: OrganisationApiKey) -> None:
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])


def api_key_organisation(key: str) -> Organisation | None:
    """The organisation a valid, unrevoked key belongs to."""
    if not key.startswith("tsk_"):
        return None
    record = (
        OrganisationApiKey.objects.select_related("organisation")
        .filter(key_hash=_digest(key), revoked_at__isnull=True)
        .first()
    )
    if record is None:
        return None
    OrganisationApiKey.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
    return record.organisation


class OrganisationKeyAuth(HttpBearer):
    """Ninja auth: `Authorization: Bearer tsk_...`; sets request.organisation."""

    def authenticate(self, request, token):
        organisation = api_key_organisation(token)
        if organisation is not None:
            request.organisation = organisation
        return organisation
