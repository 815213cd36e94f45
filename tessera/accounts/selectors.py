"""Reads of accounts that the product apps use instead of querying users and memberships themselves."""

from allauth.account.models import EmailAddress
from django.db.models import QuerySet
from django.utils import timezone

from .models import Membership, Organisation, User, WelcomeLink


def organisation_member_verified(*, organisation: Organisation, email: str) -> User | None:
    """The active member of `organisation` who has proved, through allauth, that `email` is theirs."""
    address = (
        EmailAddress.objects.filter(
            email__iexact=(email or "").strip(),
            verified=True,
            user__is_active=True,
            user__memberships__organisation=organisation,
        )
        .select_related("user")
        .first()
    )
    return address.user if address else None


def membership_get(*, user, organisation: Organisation) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organisation=organisation).first()


def membership_role(*, organisation: Organisation, user: User | None) -> str | None:
    """The user's role in the organisation, None for a stranger or nobody."""
    membership = membership_get(user=user, organisation=organisation) if user is not None else None
    return membership.role if membership else None


def is_org_admin(*, user, organisation: Organisation | None) -> bool:
    if organisation is None or not user.is_authenticated:
        return False
    return Membership.objects.filter(
        user=user, organisation=organisation, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
    ).exists()


def organisations_administered(*, user) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        memberships__user=user,
        memberships__role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
    ).distinct()


def is_member_email(*, organisation: Organisation, email: str) -> bool:
    """Whether an account with this address (as typed: callers lower-case it) belongs to the organisation."""
    return Membership.objects.filter(organisation=organisation, user__email=email).exists()


def member_organisation(*, user) -> Organisation | None:
    """The organisation of the user's oldest membership: the one a member acts for by default."""
    if user is None or not user.is_authenticated:
        return None
    membership = user.memberships.select_related("organisation").order_by("created_at").first()
    return membership.organisation if membership else None


def welcome_link_get(*, token: str) -> WelcomeLink | None:
    """The unexpired welcome link this token opens, or None (unknown, used or expired: the same answer)."""
    return (
        WelcomeLink.objects.select_related("user")
        .filter(
            token_hash=WelcomeLink.digest(token or ""), expires_at__gt=timezone.now(), user__is_active=True
        )
        .first()
    )
