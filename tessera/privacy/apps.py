from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "tessera.privacy"
    label = "privacy"
    verbose_name = _("Privacy")

    def ready(self):
        from allauth.account import signals as account_signals

        from tessera.core import outbox

        from . import tasks  # noqa: F401  (registers the periodic jobs with the worker)
        from .accounts import sign_in_activity_record
        from .register import registry
        from .services import outbox_hold_check
        from .terms import terms_signup_record

        # A malformed declaration raises ImproperlyConfigured here, naming the app and the field.
        registry.load()
        if outbox_hold_check not in outbox.hold_checks:
            outbox.hold_checks.append(outbox_hold_check)
        # An unsubscribe link only withdraws a consent, and travels in clear in List-Unsubscribe anyway.
        outbox.credential_exempt_routes.add("privacy:unsubscribe")
        # Accounts sit below privacy and cannot call it: privacy listens to the sign-in itself.
        account_signals.user_logged_in.connect(
            sign_in_activity_record, dispatch_uid="tessera.privacy.sign_in_activity"
        )
        # The sign-up form requires the terms checkbox; privacy records which version was accepted.
        account_signals.user_signed_up.connect(
            terms_signup_record, dispatch_uid="tessera.privacy.terms_signup"
        )
        post_migrate.connect(_publish_policy, sender=self, dispatch_uid="tessera.privacy.publish")


def _publish_policy(sender, using="default", **kwargs):
    # Publishes the version only; the emails of a substantial change are sent by a task.
    from django.db import connections

    from .models import PolicyVersion
    from .policy import policy_publish

    if PolicyVersion._meta.db_table in connections[using].introspection.table_names():
        policy_publish(using=using)
