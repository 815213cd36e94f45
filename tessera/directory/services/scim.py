"""Writes of the SCIM endpoint: the organisation's bearer token, and the Users and Groups an identity provider
pushes, applied through the directory's one path for people and groups (people.py).

A SCIM write is atomic: a refused value, a duplicate or an unknown member leaves nothing written. Errors are
scim2-models' exceptions, which carry their HTTP status and scimType to the endpoint.
"""

import secrets
import uuid

from django.db import IntegrityError, transaction
from scim2_models import (
    Group,
    InvalidValueException,
    PatchOp,
    UniquenessException,
)

from tessera.accounts.models import Organisation, User
from tessera.core.audit import security_event_record

from ..models import ExternalGroup, ExternalUser, Provider, ScimToken
from ..scim.resources import POLICY, TEXT_FIELDS, UserResource, group_resource, user_resource, user_values
from .people import Person, PersonRejected, group_apply, group_remove, person_apply, person_remove

TOKEN_PREFIX = "tscim"

# --- the bearer token: `tscim_<prefix>_<secret>`; only its SHA-256 is kept -----------------------------


def _token_log(*, action: str, organisation: Organisation, prefix: str, actor: User | None, request) -> None:
    security_event_record(
        action=f"directory.scim_token.{action}",
        actor=actor,
        request=request,
        data={"organisation": organisation.pk, "token": prefix},
    )


@transaction.atomic
def scim_token_rotate(*, organisation: Organisation, actor: User | None = None, request=None) -> str:
    """A new token for the organisation's SCIM endpoint, replacing any other; the clear token is returned once."""
    ScimToken.objects.filter(organisation=organisation).delete()
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    ScimToken.objects.create(
        organisation=organisation, prefix=prefix, token_hash=ScimToken.digest(token), created_by=actor
    )
    _token_log(action="rotated", organisation=organisation, prefix=prefix, actor=actor, request=request)
    return token


@transaction.atomic
def scim_token_revoke(*, organisation: Organisation, actor: User | None, request=None) -> None:
    """The SCIM endpoint refuses every request of the organisation until a new token is made."""
    record = ScimToken.objects.filter(organisation=organisation).first()
    if record is None:
        return
    record.delete()
    _token_log(
        action="revoked", organisation=organisation, prefix=record.prefix, actor=actor, request=request
    )


# --- Users ---------------------------------------------------------------------------------------------


def _rows(organisation: Organisation):
    return ExternalUser.objects.filter(organisation=organisation, provider=Provider.SCIM)


def _unique(*, organisation, user_name: str, external_id: str, current: ExternalUser | None) -> None:
    """409 when another person already has this userName or externalId (a removed one counts on updates:
    the row stays for its retention and keeps the name)."""
    rows = _rows(organisation)
    if current is None:
        rows = rows.filter(removed_at__isnull=True)
    else:
        rows = rows.exclude(pk=current.pk)
    if rows.filter(user_name=user_name.lower()).exists():
        raise UniquenessException(detail=f"userName {user_name!r} is already provisioned")
    if external_id and rows.filter(external_id=external_id).exists():
        raise UniquenessException(detail=f"externalId {external_id!r} is already provisioned")


def _rejected(error: PersonRejected) -> InvalidValueException:
    messages = error.message_dict if hasattr(error, "error_dict") else {"value": error.messages}
    detail = "; ".join(f"{field}: {' '.join(texts)}" for field, texts in sorted(messages.items()))
    return InvalidValueException(detail=detail)


def _user_apply(
    *, organisation: Organisation, resource: UserResource, current: ExternalUser | None
) -> ExternalUser:
    values = user_values(resource)
    external_id = (resource.external_id or "").strip()
    if not values["user_name"]:
        raise InvalidValueException(detail="userName is required")
    _unique(
        organisation=organisation, user_name=values["user_name"], external_id=external_id, current=current
    )
    previous = current.scim_values if current is not None else {}
    card = {key: values[key] for key in (*TEXT_FIELDS, "phones") if key in values}
    # A field SCIM fed before and no longer sends is emptied; one it never fed stays the member's.
    for key in (*TEXT_FIELDS, "phones"):
        if previous.get(key) and key not in card:
            card[key] = [] if key == "phones" else ""
    locked = tuple(sorted(key for key, value in card.items() if value))
    display_name = values["display_name"] or " ".join(
        filter(None, [card.get("first_name"), card.get("last_name")])
    )
    person = Person(
        external_id=external_id,
        user_name=values["user_name"],
        email=values["email"],
        values=card,
        active=resource.active is not False,
        display_name=display_name,
    )
    try:
        with transaction.atomic():
            if current is not None and current.user_name != values["user_name"].lower():
                # people.py finds the person by externalId, else userName: a renamed one is renamed first.
                _rows(organisation).filter(pk=current.pk).update(user_name=values["user_name"].lower())
            outcome = person_apply(
                organisation=organisation, provider=Provider.SCIM, person=person, locked=locked
            )
    except PersonRejected as error:
        raise _rejected(error) from None
    except IntegrityError:
        raise UniquenessException(detail="userName or externalId is already provisioned") from None
    external_user = outcome.external_user
    kept = {key: value for key, value in {**values, **card}.items() if value}
    _rows(organisation).filter(pk=external_user.pk).update(scim_values=kept)
    external_user.scim_values = kept
    return external_user


@transaction.atomic
def scim_user_create(*, organisation: Organisation, resource: UserResource) -> ExternalUser:
    """POST /Users: a new member with a card (an invitation goes out); 409 on a taken userName or externalId."""
    return _user_apply(organisation=organisation, resource=resource, current=None)


@transaction.atomic
def scim_user_replace(*, external_user: ExternalUser, resource: UserResource) -> ExternalUser:
    """PUT /Users/{id}: the User as sent; a card field it no longer carries is emptied."""
    return _user_apply(organisation=external_user.organisation, resource=resource, current=external_user)


@transaction.atomic
def scim_user_patch(*, external_user: ExternalUser, patch: PatchOp) -> ExternalUser:
    """PATCH /Users/{id}: the operations applied to the User Tessera keeps, then applied as a whole."""
    resource = user_resource(external_user)
    patch.patch(resource, scim_policy=POLICY)
    return _user_apply(organisation=external_user.organisation, resource=resource, current=external_user)


@transaction.atomic
def scim_user_delete(*, external_user: ExternalUser) -> None:
    """DELETE /Users/{id}: the seat goes and the card leaves the public web; leads stay with their owner."""
    person_remove(external_user=external_user, leave=True)


# --- Groups --------------------------------------------------------------------------------------------


def _groups(organisation: Organisation):
    return ExternalGroup.objects.filter(organisation=organisation, provider=Provider.SCIM)


def _members(organisation: Organisation, ids: set[str]) -> list[ExternalUser]:
    """The people the member ids name; an id that names nobody here is refused, never guessed."""
    try:
        wanted = {uuid.UUID(value) for value in ids}
    except (TypeError, ValueError, AttributeError):
        raise InvalidValueException(detail="A member value is not a User id of this service") from None
    found = list(_rows(organisation).filter(removed_at__isnull=True, scim_id__in=wanted))
    if len(found) != len(wanted):
        raise InvalidValueException(detail="A member value names no provisioned User")
    return found


def _group_ids(resource: Group) -> set[str]:
    return {member.value for member in resource.members or () if member is not None and member.value}


def _group_apply(
    *, organisation, resource: Group, current: ExternalGroup | None, before: set[str]
) -> ExternalGroup:
    external_id = (resource.external_id or "").strip()
    others = _groups(organisation).filter(removed_at__isnull=True)
    if current is not None:
        others = _groups(organisation).exclude(pk=current.pk)
    if external_id and others.filter(external_id=external_id).exists():
        raise UniquenessException(detail=f"externalId {external_id!r} is already provisioned")
    after = _group_ids(resource)
    try:
        with transaction.atomic():
            return group_apply(
                organisation=organisation,
                provider=Provider.SCIM,
                external_id=external_id,
                display_name=resource.display_name or "",
                add=_members(organisation, after - before),
                remove=list(_rows(organisation).filter(scim_id__in=[uuid.UUID(v) for v in before - after])),
                group=current,
            )
    except PersonRejected as error:
        raise _rejected(error) from None
    except IntegrityError:
        raise UniquenessException(detail="externalId is already provisioned") from None


@transaction.atomic
def scim_group_create(*, organisation: Organisation, resource: Group) -> ExternalGroup:
    """POST /Groups: a new group with its members."""
    return _group_apply(organisation=organisation, resource=resource, current=None, before=set())


@transaction.atomic
def scim_group_replace(*, group: ExternalGroup, resource: Group) -> ExternalGroup:
    """PUT /Groups/{id}: the group's name and members as sent."""
    before = _group_ids(group_resource(group))
    return _group_apply(organisation=group.organisation, resource=resource, current=group, before=before)


@transaction.atomic
def scim_group_patch(*, group: ExternalGroup, patch: PatchOp) -> ExternalGroup:
    """PATCH /Groups/{id}: rename, add and remove members (Entra's `Remove` with a value list included)."""
    resource = group_resource(group)
    before = _group_ids(resource)
    patch.patch(resource, scim_policy=POLICY)
    return _group_apply(organisation=group.organisation, resource=resource, current=group, before=before)


@transaction.atomic
def scim_group_delete(*, group: ExternalGroup) -> None:
    """DELETE /Groups/{id}: the group goes; its members lose what it gave them."""
    group_remove(group=group)
