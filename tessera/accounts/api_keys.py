"""Organisation API keys: `tsk_<prefix>_<secret>`; the database keeps a SHA-256 of the whole key.

Here the key is read (API authentication); services.api_key_create and api_key_revoke write it.
"""

from django.utils import timezone
from ninja.security import HttpBearer

from .models import Organisation, OrganisationApiKey


def api_key_organisation(key: str) -> Organisation | None:
    """The organisation a valid, unrevoked key belongs to."""
    if not key.startswith("tsk_"):
        return None
    record = (
        OrganisationApiKey.objects.select_related("organisation")
        .filter(key_hash=OrganisationApiKey.digest(key), revoked_at__isnull=True)
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
