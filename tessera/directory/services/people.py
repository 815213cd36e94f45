"""People and groups of a directory, applied to the organisation: the one path every directory takes.

Entra ID's delta sync and a SCIM client both describe people and groups; both end here. A person becomes a
member with a card (through accounts' hooks, so that the directory never imports cards), a group gives its
members a card template and a role. Each person is applied in a savepoint: a refused value leaves nothing of
that person written and the caller goes on with the next one.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.accounts import hooks
from tessera.accounts import services as accounts_services
from tessera.accounts.models import Membership, Organisation, User
from tessera.core.bulk import rows_update
from tessera.core.text import printable

from ..models import SOURCE_NAMES, ExternalGroup, ExternalUser, Provider

ROLES = (Membership.Role.ADMIN, Membership.Role.MEMBER)
USER_NAME_LIMIT = 255


class PersonRejected(ValidationError):
    """A person the directory describes that cannot be applied; nothing of them was written."""


@dataclass(frozen=True)
class Person:
    """What a directory says of one person, in card terms (mapping.py and the SCIM resources build it)."""

    external_id: str
    user_name: str
    email: str
    values: dict = field(default_factory=dict)
    active: bool = True
    display_name: str = ""


@dataclass
class Outcome:
    """What applying a person did: "created", "updated", "unchanged" or "deactivated"."""

    result: str
    external_user: ExternalUser | None


def _source(provider: str) -> str:
    return SOURCE_NAMES[Provider(provider)]


def _reject(name: str, message: str) -> PersonRejected:
    return PersonRejected({name: [message]})


def _identity(person: Person) -> tuple[str, str]:
    """The person's matching key and address, cleaned; a refusal names the field."""
    user_name = (person.user_name or "").strip().lower()
    email = (person.email or "").strip().lower()
    if not user_name or len(user_name) > USER_NAME_LIMIT or printable(user_name) != user_name:
        raise _reject("userName", _("The directory gave no usable user name for this person."))
    try:
        validate_email(email)
    except ValidationError:
        raise _reject(
            "email", _("“%(value)s” is not a valid email address.") % {"value": email[:100]}
        ) from None
    return user_name, email


def person_digest(person: Person, locked) -> str:
    """What a sync compares to skip an unchanged person: everything person_apply would apply of them."""
    state = {
        "values": person.values,
        "locked": None if locked is None else sorted(locked),
        "active": person.active,
        "user_name": person.user_name.strip().lower(),
        "email": person.email.strip().lower(),
        "external_id": person.external_id,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _find(
    *, organisation: Organisation, provider: str, person: Person, user_name: str
) -> ExternalUser | None:
    rows = ExternalUser.objects.filter(organisation=organisation, provider=provider).select_related("user")
    if person.external_id:
        # The exclusion lets the database use the partial unique index on external ids.
        found = rows.exclude(external_id="").filter(external_id=person.external_id).first()
        if found is not None:
            return found
    return rows.filter(user_name=user_name).first()


def _account(*, organisation: Organisation, email: str, external_user: ExternalUser | None) -> User | None:
    """The account this person already has here, or None for a newcomer; refused when it belongs elsewhere."""
    if external_user is not None and external_user.user_id:
        return external_user.user
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        return None
    # Only a verified address identifies a person: a directory cannot claim someone's account by naming it.
    verified = existing.emailaddress_set.filter(email__iexact=email, verified=True).exists()
    if verified and Membership.objects.filter(organisation=organisation, user=existing).exists():
        return existing
    raise _reject(
        "email",
        _("%(email)s already has an account outside this organisation: invite them instead.")
        % {"email": email},
    )


def _groups_of(external_user: ExternalUser | None) -> list[ExternalGroup]:
    if external_user is None or external_user.pk is None:
        return []
    return sorted(
        external_user.groups.filter(removed_at__isnull=True), key=lambda g: (g.display_name.lower(), g.pk)
    )


def _template_of(groups: list[ExternalGroup]):
    return next((group.template for group in groups if group.template), None)


def _role_of(organisation: Organisation, provider: str, groups: list[ExternalGroup]) -> str | None:
    """admin when a group says so, member when groups decide roles and none says admin, else None (unchanged)."""
    if any(group.role == Membership.Role.ADMIN for group in groups):
        return Membership.Role.ADMIN
    decides = ExternalGroup.objects.filter(
        organisation=organisation, provider=provider, removed_at__isnull=True, role__in=ROLES
    ).exists()
    return Membership.Role.MEMBER if decides else None


def _role_apply(membership: Membership, role: str | None, provider: str) -> None:
    if role and membership.role != Membership.Role.OWNER and membership.role != role:
        accounts_services.membership_role_sync(membership=membership, role=role, source=provider)


def _synced(*, membership, person: Person | None, locked, provider, groups, active, dry_run) -> str:
    answers = hooks.member_synced.send(
        membership=membership,
        values=dict(person.values) if person else {},
        locked=None if locked is None else tuple(locked),
        source=_source(provider),
        template=_template_of(groups),
        groups=[group.display_name for group in groups],
        active=active,
        dry_run=dry_run,
    )
    return next((answer for answer in answers if answer), "unchanged")


@transaction.atomic
def person_apply(
    *,
    organisation: Organisation,
    provider: str,
    person: Person,
    locked: Iterable[str] | None = (),
    dry_run: bool = False,
    invite: bool = True,
    language: str = "fr",
) -> Outcome:
    """Create or update the member a directory describes; `dry_run` answers what would happen, writing nothing.

    Raises PersonRejected (keyed by field) with nothing of the person written: an unusable address, an
    address that has an account outside the organisation, a value the card refuses.
    """
    user_name, email = _identity(person)
    external_user = _find(organisation=organisation, provider=provider, person=person, user_name=user_name)
    digest = person_digest(person, locked)
    if _unchanged(external_user, digest):
        return Outcome("unchanged", external_user)
    user = _account(organisation=organisation, email=email, external_user=external_user)
    membership = (
        Membership.objects.filter(organisation=organisation, user=user).first() if user is not None else None
    )
    groups = _groups_of(external_user)
    if membership is None and dry_run:
        return Outcome("created" if person.active else "unchanged", external_user)
    try:
        with transaction.atomic():
            created = user is None
            if created:
                user = accounts_services.user_provision(
                    email=email, full_name=person.display_name, language=language
                )
            if membership is None:
                membership = accounts_services.membership_join(
                    organisation=organisation, user=user, role=Membership.Role.MEMBER
                )
            was_active = external_user.active if external_user is not None else True
            result = _synced(
                membership=membership,
                person=person,
                locked=locked,
                provider=provider,
                groups=groups,
                active=person.active,
                dry_run=dry_run,
            )
            if dry_run:
                return Outcome("deactivated" if was_active and not person.active else result, external_user)
            _role_apply(membership, _role_of(organisation, provider, groups), provider)
            external_user = _remember(
                organisation=organisation,
                provider=provider,
                person=person,
                user_name=user_name,
                user=user,
                external_user=external_user,
                digest=digest,
            )
            if created and invite and person.active:
                accounts_services.member_welcome_queue(
                    user=user, organisation=organisation, language=language
                )
    except PersonRejected:
        raise
    except ValidationError as error:
        raise PersonRejected(
            error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
        ) from None
    if created:
        return Outcome("created", external_user)
    if was_active and not person.active:
        return Outcome("deactivated", external_user)
    return Outcome(result, external_user)


def _unchanged(external_user: ExternalUser | None, digest: str) -> bool:
    """The person is as last applied and still a member: nothing to do (a seat removed here is re-made)."""
    return (
        external_user is not None
        and external_user.applied == digest
        and external_user.removed_at is None
        and external_user.user_id is not None
        and Membership.objects.filter(
            organisation_id=external_user.organisation_id, user_id=external_user.user_id
        ).exists()
    )


def _remember(*, organisation, provider, person, user_name, user, external_user, digest="") -> ExternalUser:
    if external_user is None:
        external_user = ExternalUser(organisation=organisation, provider=provider)
    external_user.applied = digest
    external_user.external_id = person.external_id or external_user.external_id
    external_user.user_name = user_name
    external_user.user = user
    external_user.active = person.active
    external_user.removed_at = None
    external_user.seen_at = timezone.now()
    external_user.save()
    return external_user


@transaction.atomic
def person_remove(*, external_user: ExternalUser, leave: bool = False) -> str:
    """The person left the directory: the card goes off the public web, never deleted; `leave` ends the seat.

    Answers "deactivated", or "unchanged" when they were already removed.
    """
    external_user = (
        ExternalUser.objects.select_for_update(of=("self",)).select_related("user").get(pk=external_user.pk)
    )
    if external_user.removed_at is not None and not leave:
        return "unchanged"
    membership = (
        Membership.objects.filter(
            organisation_id=external_user.organisation_id, user_id=external_user.user_id
        )
        .select_related("organisation")
        .first()
    )
    if membership is not None:
        _synced(
            membership=membership,
            person=None,
            locked=None,
            provider=external_user.provider,
            groups=_groups_of(external_user),
            active=False,
            dry_run=False,
        )
        if leave and membership.role != Membership.Role.OWNER:
            accounts_services.membership_deprovision(membership=membership, source=external_user.provider)
    external_user.active = False
    external_user.removed_at = timezone.now()
    external_user.save(update_fields=["active", "removed_at"])
    if leave:
        external_user.groups.clear()
    return "deactivated"


@transaction.atomic
def group_apply(
    *,
    organisation: Organisation,
    provider: str,
    external_id: str,
    display_name: str,
    members: Iterable[ExternalUser] | None = None,
    add: Iterable[ExternalUser] = (),
    remove: Iterable[ExternalUser] = (),
    group: ExternalGroup | None = None,
    refresh: bool = True,
) -> ExternalGroup:
    """Create or update a group and its members; the people whose groups changed get their template and role."""
    name = printable(display_name or "").strip()
    if not name or len(name) > 256:
        raise _reject("displayName", _("A group needs a name of at most 256 characters."))
    if group is None and external_id:
        group = ExternalGroup.objects.filter(
            organisation=organisation, provider=provider, external_id=external_id
        ).first()
    if group is None:
        group = ExternalGroup(organisation=organisation, provider=provider, external_id=external_id)
    renamed = group.pk is not None and group.display_name != name
    group.display_name, group.removed_at = name, None
    group.save()
    before = set(group.members.values_list("pk", flat=True))
    if members is not None:
        group.members.set(list(members))
    if add:
        group.members.add(*add)
    if remove:
        group.members.remove(*remove)
    after = set(group.members.values_list("pk", flat=True))
    touched = (before | after) if renamed else (before ^ after)
    if refresh and touched:
        people_refresh(organisation=organisation, external_users=ExternalUser.objects.filter(pk__in=touched))
    return group


@transaction.atomic
def group_remove(*, group: ExternalGroup) -> None:
    """The group is gone from the directory: its members lose what it gave them."""
    members = list(group.members.all())
    group.removed_at = timezone.now()
    group.save(update_fields=["removed_at"])
    group.members.clear()
    people_refresh(organisation=group.organisation, external_users=members)


@transaction.atomic
def group_mapping_set(*, group: ExternalGroup, template=None, role: str = "") -> ExternalGroup:
    """What a group gives its members here: a card template (public id) and a role; never the owner role."""
    if role and role not in ROLES:
        raise ValidationError({"role": [_("A group can make its members administrators or members only.")]})
    group.template, group.role = template, role
    group.save(update_fields=["template", "role"])
    people_refresh(organisation=group.organisation, external_users=group.members.all())
    return group


def _groups_by_person(external_users: list[ExternalUser]) -> dict[int, list[ExternalGroup]]:
    """Each person's live groups, sorted as `_groups_of` sorts them, in two queries for everyone."""
    links = list(
        ExternalUser.groups.through.objects.filter(
            externaluser_id__in=[row.pk for row in external_users], externalgroup__removed_at__isnull=True
        ).values_list("externaluser_id", "externalgroup_id")
    )
    groups = ExternalGroup.objects.in_bulk({group_id for _person, group_id in links})
    found: dict[int, list[ExternalGroup]] = defaultdict(list)
    for person_id, group_id in links:
        found[person_id].append(groups[group_id])
    return {k: sorted(v, key=lambda g: (g.display_name.lower(), g.pk)) for k, v in found.items()}


def people_refresh(*, organisation: Organisation, external_users: Iterable[ExternalUser]) -> None:
    """Give each person the template, groups and role their directory groups now decide.

    A person whose groups give what they gave last time costs nothing: a full sync refreshes everyone.
    """
    rows = [row for row in external_users if row.user_id and row.removed_at is None]
    if not rows:
        return
    by_person = _groups_by_person(rows)
    memberships = {
        m.user_id: m
        for m in Membership.objects.filter(organisation=organisation, user_id__in=[r.user_id for r in rows])
    }
    decides: dict[str, str | None] = {}
    changed = []
    for row in rows:
        membership = memberships.get(row.user_id)
        if membership is None:
            continue
        groups = by_person.get(row.pk, [])
        if row.provider not in decides:
            decides[row.provider] = _role_of(organisation, row.provider, [])
        admin = any(g.role == Membership.Role.ADMIN for g in groups)
        role = Membership.Role.ADMIN if admin else decides[row.provider]
        state = {
            "groups": [g.display_name for g in groups],
            "template": str(_template_of(groups)),
            "role": role,
            "active": row.active,
        }
        digest = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
        if row.applied_groups == digest and membership.role in (
            role or membership.role,
            Membership.Role.OWNER,
        ):
            continue
        _role_apply(membership, role, row.provider)
        row.applied_groups = digest
        changed.append((row, groups))
    # One cards call for everyone whose groups give something new: their template and group names.
    for provider in {row.provider for row, _groups in changed}:
        hooks.members_synced.send(
            organisation=organisation,
            source=_source(provider),
            dry_run=False,
            items=[
                {
                    "user_id": row.user_id,
                    "values": {},
                    "locked": None,
                    "template": _template_of(groups),
                    "groups": [g.display_name for g in groups],
                    "active": row.active,
                }
                for row, groups in changed
                if row.provider == provider
            ],
        )
    changed = [row for row, _groups in changed]
    rows_update(ExternalUser, changed, ["applied_groups"])
