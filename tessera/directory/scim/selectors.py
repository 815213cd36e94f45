"""Reads of the SCIM endpoint: one organisation's provisioned Users and Groups, never another's."""

import uuid

from django.db.models import Q, QuerySet

from tessera.accounts.models import Organisation

from ..models import ExternalGroup, ExternalUser, Provider


def scim_users(organisation: Organisation, q: Q | None = None) -> QuerySet[ExternalUser]:
    rows = ExternalUser.objects.filter(
        organisation=organisation, provider=Provider.SCIM, removed_at__isnull=True
    )
    return rows.filter(q).order_by("pk") if q is not None else rows.order_by("pk")


def scim_groups(organisation: Organisation, q: Q | None = None) -> QuerySet[ExternalGroup]:
    rows = ExternalGroup.objects.filter(
        organisation=organisation, provider=Provider.SCIM, removed_at__isnull=True
    )
    return rows.filter(q).order_by("pk") if q is not None else rows.order_by("pk")


def _by_id(rows: QuerySet, scim_id: str):
    try:
        return rows.filter(scim_id=uuid.UUID(scim_id)).first()
    except ValueError:
        return None


def scim_user(organisation: Organisation, scim_id: str) -> ExternalUser | None:
    """The organisation's User with this id; another organisation's id answers None, like an unknown one."""
    return _by_id(scim_users(organisation).select_related("organisation"), scim_id)


def scim_group(organisation: Organisation, scim_id: str) -> ExternalGroup | None:
    return _by_id(scim_groups(organisation).select_related("organisation"), scim_id)
