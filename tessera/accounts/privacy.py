"""Processing activities of accounts: personal spaces, second factors, sign-in with Google or Microsoft."""

from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import (
    Activity,
    ErasureOutcome,
    ExportSection,
    LegalBasis,
    Retention,
    Transfer,
)
from tessera.privacy.retention import batched_delete

from .models import Membership, User

SPACE = _("Personal space and back-office")
STAFF = _("Authorised staff of the operator (support, security)")
TLS = _("Encryption in transit (HTTPS/TLS)")


def _unverified_signups(*, now) -> int:
    cutoff = now - timedelta(days=settings.TESSERA_PRIVACY["unverified_signup_days"])
    verified = EmailAddress.objects.filter(verified=True).values("user_id")
    return batched_delete(
        User.objects.filter(date_joined__lt=cutoff, last_login__isnull=True, is_staff=False)
        .exclude(pk__in=verified)
        .order_by()
    )


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
        },
        recipients=(STAFF, _("Administrators of your organisation, for your membership")),
        retention=Retention(
            description=_(
                "While the account exists. Sign-ups whose address was never confirmed are deleted after "
                "7 days. Accounts holding business cards are deleted or anonymised after 24 months without "
                "activity, with a warning email before (see Cards)."
            ),
            period=timedelta(days=7),
            apply=_unverified_signups,
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
