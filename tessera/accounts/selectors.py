"""Reads of accounts that the product apps use instead of querying users and memberships themselves."""

from allauth.account.models import EmailAddress

from .models import Organisation, User


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
