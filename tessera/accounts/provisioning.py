"""Accounts a directory creates (Entra ID, SCIM), and the welcome link with which their person sets a password.

A provisioned account has no usable password and an unverified address: the directory says who the person
is, not that they read this mailbox. The welcome email proves it: its link, used once before it expires,
sets the password, verifies that address and signs the person in.
"""

import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from .models import Membership, Organisation, User, WelcomeLink

WELCOME_LINK_AGE = timedelta(days=14)


def address_taken(email: str) -> bool:
    """An account already uses this address, as its login or as one of its addresses."""
    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


@transaction.atomic
def user_provision(*, email: str, full_name: str = "", language: str = "fr") -> User:
    """An account for a person a directory describes: no usable password, its address unverified.

    Refused (ValidationError keyed "email") for an invalid address or one that already has an account.
    """
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": [_("“%(value)s” is not a valid email address.") % {"value": email[:100]}]}
        ) from None
    if address_taken(email):
        raise ValidationError({"email": [_("An account already exists for %(email)s.") % {"email": email}]})
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    user = User.objects.create_user(
        email, None, full_name=" ".join(full_name.split())[:150], language=language
    )
    EmailAddress.objects.create(user=user, email=email, verified=False, primary=True)
    return user


def addresses_taken(emails) -> set[str]:
    """Which of these (lower-case) addresses an account already uses, as its login or one of its addresses."""
    emails = list(emails)
    return {e.lower() for e in User.objects.filter(email__in=emails).values_list("email", flat=True)} | {
        e.lower() for e in EmailAddress.objects.filter(email__in=emails).values_list("email", flat=True)
    }


@transaction.atomic
def members_provision(
    *, organisation: Organisation, people: list[tuple[str, str]], language: str = "fr"
) -> list:
    """Accounts and seats for many people a directory describes, in a few inserts (a bulk sync's page).

    `people` are (address, full name), addresses valid, lower-case and free: the caller checked them with
    `addresses_taken`, and the unique address refuses a race. As `user_provision`: no usable password, the
    address unverified. Answers the users, in order.
    """
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    users = []
    for email, full_name in people:
        user = User(email=email, full_name=" ".join(full_name.split())[:150], language=language)
        user.set_unusable_password()
        users.append(user)
    users = User.objects.bulk_create(users, batch_size=500)
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=False, primary=True) for u in users], batch_size=500
    )
    Membership.objects.bulk_create(
        [Membership(organisation=organisation, user=u, role=Membership.Role.MEMBER) for u in users],
        batch_size=500,
    )
    return users


def _welcome_url(token: str, language: str) -> str:
    with translation.override(language):
        return settings.TESSERA_BASE_URL + reverse("account_welcome", args=[token])


@transaction.atomic
def member_welcome_queue(*, user: User, organisation: Organisation, language: str = "fr") -> WelcomeLink:
    """Email the person a link to set their password; only the newest link works. Sealed in the outbox."""
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    WelcomeLink.objects.filter(user=user).delete()
    token = secrets.token_urlsafe(32)
    link = WelcomeLink.objects.create(
        user=user,
        email=user.email,
        token_hash=WelcomeLink.digest(token),
        expires_at=timezone.now() + WELCOME_LINK_AGE,
    )
    email_queue_template(
        to=user.email,
        template="accounts/email/welcome",
        context={
            "organisation": organisation.name,
            "name": user.full_name,
            "url": _welcome_url(token, language),
            "days": WELCOME_LINK_AGE.days,
        },
        language=language,
        kind="accounts_welcome",
        confidential=True,
    )
    return link


@transaction.atomic
def welcome_link_use(*, token: str, password: str, age_confirmed: bool = True) -> User:
    """Set the password and verify the address the link was sent to; the link then stops working."""
    link = (
        WelcomeLink.objects.select_for_update()
        .select_related("user")
        .filter(token_hash=WelcomeLink.digest(token or ""))
        .first()
    )
    if link is None or link.expires_at <= timezone.now() or not link.user.is_active:
        raise ValidationError({"__all__": [_("This link does not work any more.")]})
    user = link.user
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None
    user.set_password(password)
    fields = ["password"]
    if age_confirmed and user.age_confirmed_at is None:
        user.age_confirmed_at = timezone.now()
        fields.append("age_confirmed_at")
    user.save(update_fields=fields)
    address = EmailAddress.objects.filter(user=user, email__iexact=link.email).first()
    if address is None:
        EmailAddress.objects.create(
            user=user,
            email=link.email,
            verified=True,
            primary=not EmailAddress.objects.filter(user=user, primary=True).exists(),
        )
    elif not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    WelcomeLink.objects.filter(Q(pk=link.pk) | Q(user=user)).delete()
    security_event_record(action="accounts.welcome_link_used", actor=user)
    return user


def welcome_links_expired_delete(*, now) -> int:
    """Retention: a link nobody used is deleted once it expired."""
    return WelcomeLink.objects.filter(expires_at__lte=now).delete()[0]
