"""Writes of the integration page's settings: an Entra ID connection's scope and attributes, group mappings.

Both go into the security log: the scope decides who gets a card, and a group mapping can make people
administrators.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tessera.accounts.models import Organisation
from tessera.core.audit import security_event_record

from .. import mapping
from ..models import Connection, ExternalGroup
from ..selectors import templates_offered
from .people import group_mapping_set

SCOPE_FIELDS = ("scope", "scope_groups", "scope_domains")


@transaction.atomic
def connection_settings_update(
    *,
    connection: Connection,
    scope: str,
    scope_groups: list[str],
    scope_domains: list[str],
    attribute_map: dict[str, str],
    sync_enabled: bool,
    actor,
    request=None,
) -> bool:
    """Save the settings; answers True when the scope changed after a confirmed sync, which needs a new dry run.

    A new scope can take cards away from many people at once, so the confirmation is asked again: the
    next sync is a dry run, and nothing is applied until the administrator confirms it.
    """
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if not connection.is_live:
        raise ValidationError(_("This connection was disconnected."))
    if scope not in Connection.Scope.values:
        raise ValidationError({"scope": [_("Choose who gets a card.")]})
    attribute_map = mapping.attribute_map_clean(attribute_map)
    if not attribute_map:
        raise ValidationError({"attribute_map": [_("Choose at least one attribute to sync.")]})
    before = {field: getattr(connection, field) for field in SCOPE_FIELDS}
    connection.scope = scope
    connection.scope_groups = sorted(set(scope_groups)) if scope == Connection.Scope.GROUPS else []
    connection.scope_domains = sorted(set(scope_domains)) if scope == Connection.Scope.DOMAIN else []
    connection.attribute_map = attribute_map
    connection.sync_enabled = sync_enabled
    rescoped = connection.confirmed_at is not None and before != {
        field: getattr(connection, field) for field in SCOPE_FIELDS
    }
    if rescoped:
        connection.confirmed_at = None
    connection.save(update_fields=[*SCOPE_FIELDS, "attribute_map", "sync_enabled", "confirmed_at"])
    security_event_record(
        action="directory.settings_updated",
        actor=actor,
        request=request,
        data={
            "organisation": connection.organisation_id,
            "provider": connection.provider,
            "scope": connection.scope,
            "groups": len(connection.scope_groups),
            "domains": connection.scope_domains,
            "attributes": sorted(connection.attribute_map),
            "periodic": sync_enabled,
            "confirmation_reset": rescoped,
        },
    )
    return rescoped


@transaction.atomic
def group_mappings_update(
    *, organisation: Organisation, mappings: dict[ExternalGroup, dict], actor, request=None
) -> int:
    """Give each group the template and role posted; answers how many groups changed.

    Only the groups whose template or role differ are written, and their members refreshed; each role a
    group starts or stops giving is logged.
    """
    offered = {public_id for public_id, _name in templates_offered(organisation=organisation)}
    changed = []
    for group, wanted in mappings.items():
        if group.organisation_id != organisation.pk:
            raise ValidationError(_("This group belongs to another organisation."))
        template = wanted.get("template") or None
        role = wanted.get("role") or ""
        if template and str(template) not in offered:
            raise ValidationError({"template": [_("This card template does not exist here.")]})
        if (str(group.template) if group.template else None) == (str(template) if template else None) and (
            group.role == role
        ):
            continue
        changed.append({"group": group.pk, "name": group.display_name, "role": role, "was": group.role})
        group_mapping_set(group=group, template=template, role=role)
    if changed:
        security_event_record(
            action="directory.group_mappings_updated",
            actor=actor,
            request=request,
            data={"organisation": organisation.pk, "groups": changed},
        )
    return len(changed)
