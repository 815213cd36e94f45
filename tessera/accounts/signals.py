from allauth.mfa import signals as mfa_signals
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


def _mfa_recorder(action):
    def record(sender, request, user, authenticator=None, **kwargs):
        security_event_record(
            action=action,
            actor=user,
            request=request,
            data={"type": getattr(authenticator, "type", "")},
        )

    return record


for _signal, _action in (
    (mfa_signals.authenticator_added, "mfa.added"),
    (mfa_signals.authenticator_removed, "mfa.removed"),
    (mfa_signals.authenticator_reset, "mfa.reset"),
):
    _signal.connect(_mfa_recorder(_action), weak=False, dispatch_uid=f"tessera.audit.{_action}")
