"""Processing activities of accounts: personal spaces, second factors, sign-in with Google or Microsoft.

Declared here, registered under the app label "accounts": accounts sits below privacy in the layers and
never imports it."""

from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from tessera.accounts.models import Membership, User
from tessera.accounts.provisioning import welcome_links_expired_delete
from tessera.core.outbox import email_queue_template

from .models import InactivityWarning, ProcessingLimit
from .register import (
    STAFF,
    TLS,
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
    Transfer,
    registry,
)
from .retention import batched_delete
from .services import consent_activity_record

SPACE = _("Personal space and back-office")


def sign_in_activity_record(sender, request, user, **kwargs):
    """Receiver of allauth's sign-in signal, connected by PrivacyConfig.ready()."""
    # A sign-in is activity: marketing consents are deleted after 3 years *without activity*.
    consent_activity_record(user=user)


def _unverified_signups(*, now) -> int:
    cutoff = now - timedelta(days=settings.TESSERA_PRIVACY["unverified_signup_days"])
    verified = EmailAddress.objects.filter(verified=True).values("user_id")
    # A member's account was made by their organisation (its directory), not signed up for: it stays.
    members = Membership.objects.values("user_id")
    return batched_delete(
        User.objects.filter(date_joined__lt=cutoff, last_login__isnull=True, is_staff=False)
        .exclude(pk__in=verified)
        .exclude(pk__in=members)
        .order_by()
    )


# "24 months without activity, a warning at 23 months" (policy); months counted as 30 days.
INACTIVITY_WARNING = timedelta(days=23 * 30)
INACTIVITY_LIMIT = timedelta(days=24 * 30)
# The warning always precedes the deletion by at least this much, even if the job missed a day.
WARNING_NOTICE = INACTIVITY_LIMIT - INACTIVITY_WARNING
ANONYMISE, DELETE = "anonymise", "delete"
INACTIVITY_BATCH = 500


def _hooks(name):
    """Other apps extend the inactivity rule from their privacy module (privacy cannot import them)."""
    return [getattr(m, name) for m in registry.modules.values() if callable(getattr(m, name, None))]


def _restricted_users():
    addresses = ProcessingLimit.objects.filter(
        kind=ProcessingLimit.Kind.RESTRICTION, lifted_at__isnull=True
    ).values("email")
    return User.objects.filter(Q(email__in=addresses) | Q(emailaddress__email__in=addresses)).values("pk")


def inactivity_ending(user: User) -> str:
    """Anonymise only if an app asks for it (a company's choice for its cards) and none asks to delete."""
    choices = {choice for hook in _hooks("inactivity_choice") if (choice := hook(user=user))}
    return ANONYMISE if choices == {ANONYMISE} else DELETE


@transaction.atomic
def account_anonymise(*, user: User) -> None:
    """Irreversibly remove the person from the account; each app first anonymises what it keeps."""
    for hook in _hooks("inactivity_anonymise"):
        hook(user=user)
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    user.email = f"anonymised-{user.pk}@invalid"
    user.full_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    InactivityWarning.objects.filter(user=user).delete()


@transaction.atomic
def _inactivity_warn(*, user: User, now, deadline) -> None:
    InactivityWarning.objects.create(user=user, warned_at=now)
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        action = _("anonymised") if inactivity_ending(user) == ANONYMISE else _("deleted")
        email_queue_template(
            to=user.email,
            template="accounts/email/inactivity_warning",
            context={
                "action": str(action),
                "deadline": formats.date_format(timezone.localtime(deadline), "DATE_FORMAT"),
                "url": settings.TESSERA_BASE_URL + reverse("account_home"),
            },
            language=language,
            kind="accounts_inactivity_warning",
        )


def _inactive_accounts(*, now) -> int:
    """Warn every non-staff account at 23 months without activity; delete or anonymise it at 24.

    Activity is a sign-in, any recorded activity, or what another app reports (a view of a card).
    A restricted account is frozen (GDPR Art. 18): neither warned nor ended until the restriction ends.
    """
    # A sign-in or any activity since the warning cancels it.
    InactivityWarning.objects.filter(
        Q(user__last_login__gt=F("warned_at")) | Q(user__last_activity_at__gt=F("warned_at"))
    ).delete()
    quiet = now - INACTIVITY_WARNING
    candidates = (
        User.objects.filter(is_staff=False, is_superuser=False, date_joined__lt=quiet)
        .filter(Q(last_login__isnull=True) | Q(last_login__lt=quiet))
        .filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=quiet))
        .exclude(is_active=False, email__startswith="anonymised-", email__endswith="@invalid")
        .exclude(pk__in=_restricted_users())
        .order_by("pk")
    )
    done, after = 0, 0
    while True:
        batch = list(candidates.filter(pk__gt=after)[:INACTIVITY_BATCH])
        if not batch:
            return done
        after = batch[-1].pk
        seen: dict[int, object] = {}
        for hook in _hooks("inactivity_last_seen"):
            for user_id, moment in hook(user_ids=[u.pk for u in batch]).items():
                if moment and (user_id not in seen or moment > seen[user_id]):
                    seen[user_id] = moment
        warnings = {w.user_id: w for w in InactivityWarning.objects.filter(user__in=batch)}
        for user in batch:
            last = max(
                m for m in (user.last_login, user.last_activity_at, user.date_joined, seen.get(user.pk)) if m
            )
            warning = warnings.get(user.pk)
            if warning is not None and warning.warned_at < last:
                warning.delete()  # activity since the warning: start again
                warning = None
            if now - last < INACTIVITY_WARNING:
                continue
            if warning is None:
                _inactivity_warn(
                    user=user, now=now, deadline=max(last + INACTIVITY_LIMIT, now + WARNING_NOTICE)
                )
                done += 1
            elif now - last >= INACTIVITY_LIMIT and now - warning.warned_at >= WARNING_NOTICE:
                if inactivity_ending(user) == ANONYMISE:
                    account_anonymise(user=user)
                else:
                    user.delete()
                done += 1


def _expired_sessions(*, now) -> int:
    return batched_delete(Session.objects.filter(expire_date__lt=now).order_by())


def _oauth_tokens(*, now) -> int:
    idle = now - timedelta(hours=settings.TESSERA_PRIVACY["oauth_token_idle_hours"])
    return batched_delete(
        SocialToken.objects.filter(
            Q(expires_at__lt=now) | Q(expires_at__isnull=True, account__last_login__lt=idle)
        ).order_by()
    )


activities = [
    Activity(
        name="accounts.account",
        service=SPACE,
        title=_("Personal space accounts"),
        purpose=_("Let you sign in to your personal space and use the services attached to your account."),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the personal space you signed up for."),
        data_subjects=(_("Account holders"),),
        data_categories=(
            _("Email address and name"),
            _("Password (stored only as a salted hash)"),
            _("Preferred language"),
            _("Confirmation that you are 16 or older"),
            _("Dates of sign-up, last sign-in and last activity"),
            _("Date of the inactivity warning, if one was sent"),
            _("Organisations you belong to and your role"),
        ),
        fields={
            "accounts.User": [
                "email",
                "full_name",
                "language",
                "password",
                "last_login",
                "date_joined",
                "age_confirmed_at",
                "last_activity_at",
            ],
            "account.EmailAddress": ["user", "email"],
            "account.EmailConfirmation": ["key"],
            "accounts.Membership": ["user", "role"],
            "accounts.WelcomeLink": ["user", "email", "created_at", "expires_at"],
            "privacy.InactivityWarning": ["user", "warned_at"],
        },
        recipients=(STAFF, _("Administrators of your organisation, for your membership")),
        retention=Retention(
            description=_(
                "While the account is used. Sign-ups whose address was never confirmed are deleted after 7 "
                "days. After 23 months without activity (no sign-in, no view of your cards), a warning "
                "email is sent; after 24 months the account is deleted with its data, or anonymised if the "
                "company that manages your cards chose so. Staff accounts are managed by the operator."
            ),
            period=INACTIVITY_LIMIT,
            apply=lambda *, now: (
                _unverified_signups(now=now)
                + _inactive_accounts(now=now)
                + welcome_links_expired_delete(now=now)
            ),
        ),
        security_measures=(
            TLS,
            _("Passwords hashed with Argon2"),
            _("Two-factor authentication and passkeys available; mandatory for staff"),
        ),
    ),
    Activity(
        name="accounts.second_factor",
        service=SPACE,
        title=_("Two-factor authentication and passkeys"),
        purpose=_("Protect your account with a second factor or a passkey."),
        legal_basis=LegalBasis.CONTRACT,
        data_subjects=(_("Account holders who set up a second factor"),),
        data_categories=(_("Type of factor, creation and last use"), _("Authenticator secret or public key")),
        fields={"mfa.Authenticator": ["user", "type", "data"]},
        recipients=(STAFF,),
        sub_processors=("hosting",),
        retention=Retention(description=_("Until you remove the factor or delete the account.")),
        security_measures=(TLS, _("Secrets never shown again after set-up")),
    ),
    Activity(
        name="accounts.social_sign_in",
        service=SPACE,
        title=_("Sign-in with Google or Microsoft"),
        purpose=_("Let you sign in with your Google or Microsoft account if you choose to."),
        legal_basis=LegalBasis.CONSENT,
        legal_basis_detail=_(
            "You choose to connect the account; you can revoke it at any time in your personal space "
            "or in your Google or Microsoft account."
        ),
        data_subjects=(_("Account holders who connect a Google or Microsoft account"),),
        data_categories=(
            _("Identifier at the provider"),
            _("Email address, name and profile picture link returned by the provider"),
            _("OAuth tokens"),
        ),
        fields={
            "socialaccount.SocialAccount": ["user", "provider", "uid", "extra_data"],
            "socialaccount.SocialToken": ["account", "token", "token_secret"],
        },
        recipients=(STAFF, _("The identity provider you chose (Google or Microsoft)")),
        sub_processors=("hosting",),
        transfers_outside_eea=_(
            "Only when you choose to sign in with Google or Microsoft: the provider receives the sign-in "
            "request under its own privacy policy. We send it nothing else."
        ),
        transfers=(
            Transfer(
                recipient=_("The identity provider you choose (Google or Microsoft)"),
                country=_("United States"),
                safeguards=_(
                    "Adequacy decision on the EU-US Data Privacy Framework (GDPR Art. 45), under which both "
                    "providers are certified; the transfer happens only at your request."
                ),
                documentation_url="https://www.dataprivacyframework.gov/list",
            ),
        ),
        category_retention={
            _("OAuth tokens"): _(
                "Deleted once no longer needed: expired tokens, and tokens unused for an hour."
            ),
            _("Identifier at the provider"): _("Until you remove the connection or delete the account."),
            _("Email address, name and profile picture link returned by the provider"): _(
                "Until you remove the connection or delete the account."
            ),
        },
        retention=Retention(
            description=_(
                "The connection lasts until you remove it. OAuth tokens are deleted as soon as they are no "
                "longer needed: expired tokens, and tokens unused for an hour."
            ),
            period=timedelta(hours=1),
            apply=_oauth_tokens,
        ),
        security_measures=(TLS, _("OAuth 2.0 with PKCE"), _("Tokens are not kept after sign-in")),
    ),
    Activity(
        name="accounts.session",
        service=SPACE,
        title=_("Sign-in session"),
        purpose=_("Keep you signed in to your personal space or the back-office."),
        legal_basis=LegalBasis.CONTRACT,
        data_subjects=(_("Signed-in account holders and staff"),),
        data_categories=(_("Session identifier and session content"),),
        fields={"sessions.Session": ["session_key", "session_data"]},
        recipients=(STAFF,),
        sub_processors=("hosting",),
        retention=Retention(
            description=_("Until you sign out, at most 14 days; expired sessions are deleted every hour."),
            period=timedelta(days=14),
            apply=_expired_sessions,
        ),
        security_measures=(TLS, _("HttpOnly, SameSite cookie; secure-only in production")),
    ),
]

non_personal = {
    # The name of a customer company is not personal data.
    "accounts.Organisation": ["name", "slug"],
    # An API key belongs to a company; only its hash and a public prefix are stored.
    "accounts.OrganisationApiKey": ["name", "prefix", "key_hash"],
    # Only a hash of the welcome link's token is kept, never the token.
    "accounts.WelcomeLink": ["token_hash"],
    "socialaccount.SocialApp": ["provider", "provider_id", "name", "client_id", "secret", "key", "settings"],
}


not_exported = {
    "accounts.session": _(
        "Sign-in sessions are not listed: a session identifier is a secret as strong as your password, "
        "which must not be written to a file, and a session holds nothing else about you but your account "
        "number. Your sign-ins are in the security_log section."
    ),
}


def resolve_subject(subject):
    """The accounts that hold the subject's address as a verified address, and no other.

    The rights portal proves control of a mailbox, not of an account: an address someone added without
    confirming it (a typo, an old address, someone else's) must neither hand their account to whoever
    holds that mailbox nor sweep their account into that person's request. `User.email` is not trusted
    on its own either: a sign-up not yet confirmed sets it too.
    """
    subject.user_ids = sorted(
        set(
            EmailAddress.objects.filter(email__iexact=subject.email, verified=True).values_list(
                "user_id", flat=True
            )
        )
    )


def export_subject(subject) -> list[ExportSection]:
    users = User.objects.filter(pk__in=subject.user_ids)
    warned = {
        w.user_id: w.warned_at.isoformat()
        for w in InactivityWarning.objects.filter(user_id__in=subject.user_ids)
    }
    accounts = [
        {
            "email": u.email,
            "full_name": u.full_name,
            "language": u.language,
            "joined": u.date_joined.isoformat(),
            "last_sign_in": u.last_login.isoformat() if u.last_login else "",
            "last_activity": u.last_activity_at.isoformat() if u.last_activity_at else "",
            "confirmed_16_or_older": u.age_confirmed_at.isoformat() if u.age_confirmed_at else "",
            "password_set": u.has_usable_password(),
            "inactivity_warning_sent": warned.get(u.pk, ""),
        }
        for u in users
    ]
    addresses = [
        {"email": a.email, "verified": a.verified, "primary": a.primary}
        for a in EmailAddress.objects.filter(user_id__in=subject.user_ids)
    ]
    memberships = [
        {"organisation": m.organisation.name, "role": m.role, "since": m.created_at.isoformat()}
        for m in Membership.objects.filter(user_id__in=subject.user_ids).select_related("organisation")
    ]
    factors = [
        {
            "type": a.type,
            "created": a.created_at.isoformat(),
            "last_used": a.last_used_at.isoformat() if a.last_used_at else "",
        }
        for a in Authenticator.objects.filter(user_id__in=subject.user_ids)
    ]
    social = [
        {"provider": s.provider, "uid": s.uid, "data": s.extra_data, "joined": s.date_joined.isoformat()}
        for s in SocialAccount.objects.filter(user_id__in=subject.user_ids)
    ]
    return [
        ExportSection(activity="accounts.account", category="account", rows=accounts),
        ExportSection(activity="accounts.account", category="email_addresses", rows=addresses),
        ExportSection(activity="accounts.account", category="memberships", rows=memberships),
        ExportSection(activity="accounts.second_factor", category="second_factors", rows=factors),
        ExportSection(activity="accounts.social_sign_in", category="connected_accounts", rows=social),
    ]


def erase_subject(subject) -> list[ErasureOutcome]:
    # Deleting the user cascades to addresses, factors, connected accounts, tokens and memberships;
    # their sessions stop authenticating at once and are deleted when they expire.
    count = 0
    for user in User.objects.filter(pk__in=subject.user_ids):
        user.delete()
        count += 1
    return [ErasureOutcome(activity="accounts.account", erased=count)]
