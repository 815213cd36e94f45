"""Writes of organisations, memberships and API keys. The product apps build on these functions.

What an app keeps per organisation or per member (cards: settings, the owner's card, a leaving member's card)
is done by its receivers of `hooks`, inside the same transaction as the write that calls them.

Rules: an organisation always has exactly one owner. Owner and admins run the organisation (invitations,
templates, settings, integrations) and may remove plain members. Only the owner makes or demotes admins,
invites admins, removes an admin, and transfers the ownership (then becoming an admin). Anyone but the
owner may leave; the owner transfers the ownership first.
"""

import secrets

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tessera.core.audit import security_event_record

from . import hooks
from .models import Membership, Organisation, OrganisationApiKey, User
from .provisioning import (
    addresses_taken,
    member_welcome_queue,
    members_provision,
    user_provision,
    welcome_link_use,
    welcome_links_expired_delete,
)
from .selectors import is_member_email, membership_role

__all__ = [
    "addresses_taken",
    "api_key_create",
    "api_key_revoke",
    "member_welcome_queue",
    "members_provision",
    "membership_deprovision",
    "membership_invitation_check",
    "membership_join",
    "membership_remove",
    "membership_role_set",
    "membership_role_sync",
    "organisation_create",
    "organisation_ownership_transfer",
    "user_create_invited",
    "user_provision",
    "welcome_link_use",
    "welcome_links_expired_delete",
]

INVITABLE_ROLES = (Membership.Role.MEMBER, Membership.Role.ADMIN)

# --- organisations -----------------------------------------------------------------------------------------


def _unique_org_slug(name: str) -> str:
    base = slugify(name)[:60] or "org"
    slug, n = base, 1
    while Organisation.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organisation_create(*, owner: User, name: str) -> Organisation:
    """A new organisation, `owner` its owner; then the `organisation_created` receivers (cards opens)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": [_("Give the organisation a name of at most 200 characters.")]})
    organisation = Organisation.objects.create(name=name, slug=_unique_org_slug(name))
    Membership.objects.create(organisation=organisation, user=owner, role=Membership.Role.OWNER)
    hooks.organisation_created.send(organisation=organisation, owner=owner)
    return organisation


# --- memberships -------------------------------------------------------------------------------------------


def _membership_locked(*, organisation_id: int, user_id: int) -> Membership | None:
    return (
        Membership.objects.select_for_update()
        .select_related("user", "organisation")
        .filter(organisation_id=organisation_id, user_id=user_id)
        .first()
    )


def _refuse(message: str) -> ValidationError:
    return ValidationError({"__all__": [message]})


def _membership_log(*, action: str, actor: User, membership: Membership, request=None, **data) -> None:
    # The "cards." names predate accounts' services: the security log and its readers keep them.
    security_event_record(
        action=f"cards.{action}",
        actor=actor,
        request=request,
        data={"organisation": membership.organisation_id, "member": membership.user_id, **data},
    )


@transaction.atomic
def membership_role_set(*, membership: Membership, role: str, actor: User, request=None) -> Membership:
    """Make a member an admin or an admin a member; only the owner may, and not for the owner's own seat."""
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": [_("The role must be member or admin.")]})
    acting = _membership_locked(organisation_id=membership.organisation_id, user_id=actor.pk)
    target = _membership_locked(organisation_id=membership.organisation_id, user_id=membership.user_id)
    if acting is None or target is None or acting.role != Membership.Role.OWNER:
        raise _refuse(_("Only the owner of the organisation can change roles."))
    if target.role == Membership.Role.OWNER:
        raise _refuse(_("The owner's role changes only by transferring the ownership."))
    if target.role != role:
        previous, target.role = target.role, role
        target.save(update_fields=["role"])
        _membership_log(
            action="membership.role_changed",
            actor=actor,
            membership=target,
            request=request,
            previous=previous,
            role=role,
        )
    return target


@transaction.atomic
def membership_role_sync(*, membership: Membership, role: str, source: str) -> Membership:
    """A directory group makes a member an admin or an admin a member; the owner's seat is never touched.

    Nothing grants, removes or changes the owner role here: an owner stays owner, and "owner" is refused.
    """
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": [_("The role must be member or admin.")]})
    target = _membership_locked(organisation_id=membership.organisation_id, user_id=membership.user_id)
    if target is None:
        raise _refuse(_("This person is not a member of the organisation."))
    if target.role == Membership.Role.OWNER or target.role == role:
        return target
    previous, target.role = target.role, role
    target.save(update_fields=["role"])
    security_event_record(
        action="directory.membership.role_changed",
        data={
            "organisation": target.organisation_id,
            "member": target.user_id,
            "previous": previous,
            "role": role,
            "source": source,
        },
    )
    return target


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User, request=None) -> dict:
    """Remove a member (or leave); the `membership_removing` receivers settle what hangs on the seat.

    Returns the receivers' facts, logged with the removal: cards answers {"card": "deactivated"},
    {"card": "handed_back"} or {"card": "none"}.
    """
    acting = _membership_locked(organisation_id=membership.organisation_id, user_id=actor.pk)
    target = _membership_locked(organisation_id=membership.organisation_id, user_id=membership.user_id)
    if acting is None or target is None:
        raise _refuse(_("This person is not a member of the organisation."))
    leaving = acting.pk == target.pk
    if target.role == Membership.Role.OWNER:
        raise _refuse(_("The owner cannot leave or be removed: transfer the ownership first."))
    if not leaving:
        if acting.role == Membership.Role.MEMBER:
            raise _refuse(_("Only the owner and the administrators can remove members."))
        if target.role == Membership.Role.ADMIN and acting.role != Membership.Role.OWNER:
            raise _refuse(_("Only the owner can remove an administrator."))
    facts: dict = {}
    for answer in hooks.membership_removing.send(membership=target):
        facts.update(answer or {})
    target.delete()
    _membership_log(
        action="membership.left" if leaving else "membership.removed",
        actor=actor,
        membership=target,
        request=request,
        role=target.role,
        **facts,
    )
    return facts


@transaction.atomic
def organisation_ownership_transfer(
    *, organisation: Organisation, new_owner: Membership, actor: User, request=None
) -> Membership:
    """The owner hands the ownership to another member and becomes an administrator."""
    acting = _membership_locked(organisation_id=organisation.pk, user_id=actor.pk)
    target = _membership_locked(organisation_id=organisation.pk, user_id=new_owner.user_id)
    if acting is None or acting.role != Membership.Role.OWNER:
        raise _refuse(_("Only the owner can transfer the ownership."))
    if target is None or new_owner.organisation_id != organisation.pk:
        raise _refuse(_("The new owner must be a member of the organisation."))
    if target.pk == acting.pk:
        raise _refuse(_("You are already the owner."))
    if not target.user.is_active:
        raise _refuse(_("This account is closed: choose another member."))
    previous = target.role
    acting.role = Membership.Role.ADMIN
    acting.save(update_fields=["role"])  # first: there is never a second owner, even for a statement
    target.role = Membership.Role.OWNER
    target.save(update_fields=["role"])
    _membership_log(
        action="organisation.ownership_transferred",
        actor=actor,
        membership=target,
        request=request,
        previous_owner=actor.pk,
        previous_role=previous,
    )
    return target


# --- joining: the organisation's side of an invitation (cards keeps the invitation and the card) -------------


def membership_invitation_check(
    *, organisation: Organisation, email: str, role: str, invited_by: User
) -> str:
    """Whether `invited_by` may invite `email` into the organisation as `role`; returns the address to store.

    Raises ValidationError keyed by form field. The app that keeps invitations checks its own pending ones.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [_("“%(value)s” is not a valid email address.") % {"value": email}]}
        ) from None
    if role not in INVITABLE_ROLES:
        raise ValidationError({"role": [_("The role must be member or admin.")]})
    inviter_role = membership_role(organisation=organisation, user=invited_by)
    if inviter_role not in (Membership.Role.OWNER, Membership.Role.ADMIN):
        raise ValidationError({"__all__": [_("Only the owner and the administrators can invite members.")]})
    if role == Membership.Role.ADMIN and inviter_role != Membership.Role.OWNER:
        raise ValidationError({"role": [_("Only the owner can invite administrators.")]})
    if is_member_email(organisation=organisation, email=email):
        raise ValidationError({"email": [_("%(email)s is already a member.") % {"email": email}]})
    return email


@transaction.atomic
def user_create_invited(*, email: str, password: str, full_name: str = "", language: str = "fr") -> User:
    """An account for someone who followed an invitation link: the link reached the mailbox, so it is verified."""
    if User.objects.filter(email=email).exists():
        raise ValidationError(_("An account already exists for this address: sign in first."))
    candidate = User(email=email, full_name=full_name)
    validate_password(password, candidate)
    user = User.objects.create_user(
        email,
        password,
        full_name=full_name[:150],
        language=language,
        age_confirmed_at=timezone.now(),
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@transaction.atomic
def membership_join(*, organisation: Organisation, user: User, role: str) -> Membership:
    """The user's seat in the organisation; a member who already has one keeps it (and its role)."""
    membership, _created = Membership.objects.get_or_create(
        organisation=organisation, user=user, defaults={"role": role}
    )
    return membership


# --- API keys: `tsk_<prefix>_<secret>`; the database keeps a SHA-256 of the whole key ----------------------


def _api_key_log(*, action: str, api_key: OrganisationApiKey, actor: User | None, request=None) -> None:
    # The Django admin revokes without an actor: its own change log records that.
    if actor is not None:
        security_event_record(
            action=f"cards.{action}",
            actor=actor,
            request=request,
            data={"organisation": api_key.organisation_id, "key": api_key.prefix},
        )


@transaction.atomic
def api_key_create(
    *, organisation: Organisation, name: str, actor: User | None = None, request=None
) -> tuple[OrganisationApiKey, str]:
    """Create a key; the clear key is returned once and never stored."""
    prefix = secrets.token_hex(4)
    key = f"tsk_{prefix}_{secrets.token_urlsafe(32)}"
    record = OrganisationApiKey.objects.create(
        organisation=organisation, name=name, prefix=prefix, key_hash=OrganisationApiKey.digest(key)
    )
    _api_key_log(action="api_key.created", api_key=record, actor=actor, request=request)
    return record, key


@transaction.atomic
def api_key_revoke(*, api_key: OrganisationApiKey, actor: User | None = None, request=None) -> None:
    """Revoke a key; revoking a revoked key changes nothing and logs nothing."""
    if api_key.revoked_at is not None:
        return
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    _api_key_log(action="api_key.revoked", api_key=api_key, actor=actor, request=request)


@transaction.atomic
def membership_deprovision(*, membership: Membership, source: str) -> dict:
    """A directory (SCIM DELETE) ends a seat: the same receivers as a removal, never for the owner."""
    target = _membership_locked(organisation_id=membership.organisation_id, user_id=membership.user_id)
    if target is None:
        return {}
    if target.role == Membership.Role.OWNER:
        raise _refuse(_("The owner cannot leave or be removed: transfer the ownership first."))
    facts: dict = {}
    for answer in hooks.membership_removing.send(membership=target):
        facts.update(answer or {})
    target.delete()
    security_event_record(
        action="directory.membership.deprovisioned",
        data={"organisation": target.organisation_id, "member": target.user_id, "source": source, **facts},
    )
    return facts
