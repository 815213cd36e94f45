"""What the SCIM endpoint serves and reads: its resource models, its discovery documents, and the mapping
between a SCIM User and the card fields Tessera keeps.

The models are scim2-models' own (RFC 7643); this module only says which of them the service uses and how
their attributes meet the card. A User is rebuilt from what Tessera keeps (the external user row and the
card values SCIM last provisioned), never from a copy of the identity provider's payload.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from scim2_models import (
    URI,
    Address,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Email,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    GroupMember,
    Meta,
    Name,
    Patch,
    PhoneNumber,
    Reference,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

from tessera.directory.models import ExternalGroup, ExternalUser

UserResource = User[EnterpriseUser]
ENTERPRISE = str(EnterpriseUser.__schema__)
CORE_SCHEMAS = {str(User.__schema__).casefold(), str(Group.__schema__).casefold(), ENTERPRISE.casefold()}
PAGE_DEFAULT = 100
PAGE_MAX = 200

# What identity providers really send (Entra's "Remove" with a value, its filtered paths that create the
# entry they name); unknown attributes stay refused (400), so nothing a client means is silently dropped.
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=PAGE_MAX),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="OAuth Bearer Token",
            description="The organisation's SCIM token, sent as `Authorization: Bearer <token>`.",
            primary=True,
        )
    ],
    meta=Meta(resource_type="ServiceProviderConfig"),
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[ResourceType.from_resource(UserResource), ResourceType.from_resource(Group)],
    config=CONFIG,
    policy=POLICY,
)

# Card fields SCIM can feed, besides the name and the address, which every User has.
TEXT_FIELDS = ("first_name", "last_name", "job_title", "company", "department", "street", "postal_code", "city",
               "country")  # fmt: skip
PHONE_KINDS = ("work", "mobile")


def schemas_known(payload: Any) -> Any:
    """Drop schema URNs that name no attribute of the payload and that this service does not describe.

    Entra declares "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group" on every
    group it creates without sending any of its attributes: refusing it would refuse every Entra group.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("schemas"), list):
        return payload
    keys = {key.casefold() for key in payload if isinstance(key, str)}
    kept = [s for s in payload["schemas"] if not isinstance(s, str) or s.casefold() in CORE_SCHEMAS | keys]
    return {**payload, "schemas": kept}


def patch_value_paths(payload: Any) -> Any:
    """Entra's value maps may key an entry by a filtered path (`emails[type eq "work"].value`), which RFC 7644
    reserves for `path`: each such entry becomes an operation of its own, in the same place."""
    if not isinstance(payload, dict) or not isinstance(payload.get("Operations"), list):
        return payload
    operations = []
    for operation in payload["Operations"]:
        value = operation.get("value") if isinstance(operation, dict) else None
        if not isinstance(value, dict) or operation.get("path") or not any("[" in key for key in value):
            operations.append(operation)
            continue
        plain = {key: item for key, item in value.items() if "[" not in key}
        if plain:
            operations.append({**operation, "value": plain})
        operations += [{**operation, "path": key, "value": item} for key, item in value.items() if "[" in key]
    return {**payload, "Operations": operations}


def _clean(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _pick(items: list | None, kind: str | None = None) -> Any:
    """The primary entry of a multi-valued attribute, else the first of `kind`, else the first."""
    items = [item for item in items or () if item is not None]
    for item in items:
        if getattr(item, "primary", False) and (kind is None or str(item.type or "") == kind):
            return item
    for item in items:
        if kind is None or str(item.type or "") == kind:
            return item
    return items[0] if items and kind is None else None


def user_values(user: UserResource) -> dict:
    """The card values a SCIM User carries: {card field: value}, plus user_name, display_name and email.

    Only attributes the User names appear; an attribute it names empty appears as "".
    """
    values: dict[str, Any] = {"user_name": _clean(user.user_name), "display_name": _clean(user.display_name)}
    if user.name is not None:
        values["first_name"] = _clean(user.name.given_name)
        values["last_name"] = _clean(user.name.family_name)
        if not values["display_name"]:
            values["display_name"] = _clean(user.name.formatted)
    if user.title is not None:
        values["job_title"] = _clean(user.title)
    email = _pick(user.emails, "work") or _pick(user.emails)
    values["email"] = _clean(email.value if email else "")
    if not values["email"]:
        try:
            validate_email(values["user_name"])
            values["email"] = values["user_name"]
        except ValidationError:
            pass
    if user.phone_numbers is not None:
        values["phones"] = [
            {"kind": str(phone.type), "number": _clean(phone.value)}
            for phone in user.phone_numbers
            if phone is not None and str(phone.type or "") in PHONE_KINDS and _clean(phone.value)
        ]
    address = _pick(user.addresses, "work") if user.addresses is not None else None
    if user.addresses is not None:
        values["street"] = _clean(address.street_address if address else "")
        values["postal_code"] = _clean(address.postal_code if address else "")
        values["city"] = _clean(address.locality if address else "")
        values["country"] = _clean(address.country if address else "")
    enterprise = user[EnterpriseUser]
    if enterprise is not None:
        values["department"] = _clean(enterprise.department)
        values["company"] = _clean(enterprise.organization)
    return values


def user_resource(external_user: ExternalUser, *, base_url: str = "") -> UserResource:
    """The SCIM User of an external user, built from the values SCIM last provisioned."""
    values = external_user.scim_values or {}
    user = UserResource(
        id=str(external_user.scim_id),
        external_id=external_user.external_id or None,
        user_name=values.get("user_name") or external_user.user_name,
        active=external_user.active,
        display_name=values.get("display_name") or None,
        title=values.get("job_title") or None,
    )
    if values.get("first_name") or values.get("last_name"):
        user.name = Name(
            given_name=values.get("first_name") or None,
            family_name=values.get("last_name") or None,
            formatted=" ".join(filter(None, [values.get("first_name"), values.get("last_name")])),
        )
    if values.get("email"):
        user.emails = [Email(value=values["email"], type=Email.Type.work, primary=True)]
    if values.get("phones"):
        user.phone_numbers = [PhoneNumber(value=p["number"], type=p["kind"]) for p in values["phones"]]
    if any(values.get(field) for field in ("street", "postal_code", "city", "country")):
        user.addresses = [
            Address(
                type=Address.Type.work,
                street_address=values.get("street") or None,
                postal_code=values.get("postal_code") or None,
                locality=values.get("city") or None,
                country=values.get("country") or None,
                primary=True,
            )
        ]
    if values.get("department") or values.get("company"):
        user[EnterpriseUser] = EnterpriseUser(
            department=values.get("department") or None, organization=values.get("company") or None
        )
    user.meta = Meta(
        resource_type="User",
        last_modified=external_user.seen_at,
        location=f"{base_url}/Users/{external_user.scim_id}" if base_url else None,
    )
    return user


def group_resource(group: ExternalGroup, *, base_url: str = "", members: bool = True) -> Group:
    """The SCIM Group of an external group; its members are the SCIM ids of its people.

    Without `base_url` (a PATCH works on it) members carry their id only: a group may hold thousands.
    """
    resource = Group(
        id=str(group.scim_id), external_id=group.external_id or None, display_name=group.display_name
    )
    rows = group.members.filter(removed_at__isnull=True).order_by("pk")
    if members and not base_url:
        resource.members = [
            GroupMember(value=str(scim_id)) for scim_id in rows.values_list("scim_id", flat=True)
        ]
    elif members:
        resource.members = [
            GroupMember(
                value=str(scim_id),
                type="User",
                display=values.get("display_name") or values.get("user_name") or user_name,
                ref=Reference[URI](f"{base_url}/Users/{scim_id}"),
            )
            for scim_id, user_name, values in rows.values_list("scim_id", "user_name", "scim_values")
        ]
    resource.meta = Meta(
        resource_type="Group", location=f"{base_url}/Groups/{group.scim_id}" if base_url else None
    )
    return resource
