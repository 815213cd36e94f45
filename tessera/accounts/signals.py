from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as social_signals
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from tessera.core.audit import security_event_record


@receiver(user_logged_in, dispatch_uid="tessera.audit.login")
def record_login(sender, request, user, **kwargs):
    security_event_record(action="auth.login", actor=user, request=request)


@receiver(user_logged_out, dispatch_uid="tessera.audit.logout")
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        security_event_record(action="auth.logout", actor=user, request=request)


@receiver(user_login_failed, dispatch_uid="tessera.audit.login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get("email") or credentials.get("username") or "")[:254]
    security_event_record(action="auth.login_failed", email=email if "@" in email else "", request=request)


@receiver(account_signals.user_signed_up, dispatch_uid="tessera.audit.signup")
def record_signup(sender, request, user, **kwargs):
    sociallogin = kwargs.get("sociallogin")
    data = {"provider": sociallogin.account.provider} if sociallogin else {}
    security_event_record(action="account.signup", actor=user, request=request, data=data)


@receiver(account_signals.email_confirmed, dispatch_uid="tessera.audit.email_confirmed")
def record_email_confirmed(sender, request, email_address, **kwargs):
    security_event_record(
        action="account.email_confirmed",
        actor=email_address.user,
        email=email_address.email,
        request=request,
    )


@receiver(account_signals.email_changed, dispatch_uid="tessera.audit.email_changed")
def record_email_changed(sender, request, user, **kwargs):
    # Addresses stay out of `data`: only the personal fields of an entry can be shredded later.
    security_event_record(action="account.email_changed", actor=user, request=request)


@receiver(account_signals.password_changed, dispatch_uid="tessera.audit.password_changed")
def record_password_changed(sender, request, user, **kwargs):
    security_event_record(action="auth.password_changed", actor=user, request=request)


@receiver(account_signals.password_set, dispatch_uid="tessera.audit.password_set")
def record_password_set(sender, request, user, **kwargs):
    security_event_record(action="auth.password_set", actor=user, request=request)


@receiver(account_signals.password_reset, dispatch_uid="tessera.audit.password_reset")
def record_password_reset(sender, request, user, **kwargs):
    security_event_record(action="auth.password_reset", actor=user, request=request)


@receiver(social_signals.social_account_added, dispatch_uid="tessera.audit.social_added")
def record_social_added(sender, request, sociallogin, **kwargs):
    security_event_record(
        action="auth.social_connected",
        actor=sociallogin.user,
        request=request,
        data={"provider": sociallogin.account.provider},
    )


@receiver(social_signals.social_account_removed, dispatch_uid="tessera.audit.social_removed")
def record_social_removed(sender, request, socialaccount, **kwargs):
    security_event_record(
        action="auth.social_disconnected",
        actor=socialaccount.user,
        request=request,
        data={"provider": socialaccount.provider},
    )


def _mfa_recorder(action):
    def record(sender, request, user, authenticator=None, **kwargs):
        data = {"type": getattr(authenticator, "type", "")}
        for flag in ("passwordless", "reauthenticated", "reauthentication"):
            if kwargs.get(flag):
                data[flag] = True
        security_event_record(action=action, actor=user, request=request, data=data)

    return record


for _signal, _action in (
    (mfa_signals.authenticator_added, "mfa.added"),
    (mfa_signals.authenticator_removed, "mfa.removed"),
    (mfa_signals.authenticator_reset, "mfa.reset"),
    (mfa_signals.authenticator_used, "mfa.used"),
    (mfa_signals.authentication_failed, "mfa.failed"),
):
    _signal.connect(_mfa_recorder(_action), weak=False, dispatch_uid=f"tessera.audit.{_action}")
