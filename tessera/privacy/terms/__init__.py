"""Terms of use: versions, proof of acceptance, and the emails that announce a substantial change.

Each version's text is a template, `site/terms/<number>.html`; publishing a version adds a row (and the
template with it). A substantial version is emailed to every active account holder, through the outbox,
in their language, by batches with a progress mark like the policy-change emails.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import get_template
from django.utils import timezone

from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from ..models import TermsAcceptance, TermsVersion

NOTIFY_BATCH = 1000
CONTEXTS = ("signup", "event_creation")


class TermsError(ValueError):
    """A terms version or an acceptance that cannot be recorded."""


FIRST_VERSION_PUBLISHED = datetime.datetime(2026, 12, 3, tzinfo=datetime.UTC)


def terms_current() -> TermsVersion:
    """The latest published version.

    Version 1 ships with the code (migration 0009 publishes it). A database emptied since then, such as a
    flushed test database or a restored partial dump, gets it back here rather than refusing every sign-up.
    """
    version = TermsVersion.objects.order_by("-number").first()
    if version is None:
        version, _created = TermsVersion.objects.get_or_create(
            number=1, defaults={"published_at": FIRST_VERSION_PUBLISHED}
        )
    return version


@transaction.atomic
def terms_acceptance_record(
    *, email: str, user=None, version: TermsVersion | int | None = None, context: str, now=None
) -> TermsAcceptance:
    """Record that `email` (and `user`, if any) accepted `version` (default: the current one) in `context`."""
    email = (email or "").strip().lower()
    if not email:
        raise TermsError("An acceptance needs an email address.")
    if context not in CONTEXTS:
        raise TermsError(f"Unknown context {context!r}.")
    if isinstance(version, int):
        version = TermsVersion.objects.filter(number=version).first()
        if version is None:
            raise TermsError("No such terms version.")
    version = version or terms_current()
    return TermsAcceptance.objects.create(
        user=user, email=email, version=version, context=context, accepted_at=now or timezone.now()
    )


@transaction.atomic
def terms_publish(*, number: int, substantial: bool, now=None) -> TermsVersion:
    """Publish version `number`, whose template must exist; a substantial one is emailed once this commits."""
    get_template(f"site/terms/{number}.html")  # raises TemplateDoesNotExist: no version without its text
    latest = TermsVersion.objects.select_for_update().order_by("-number").first()
    if latest and number <= latest.number:
        raise TermsError(f"Version {number} is not after the current version {latest.number}.")
    version = TermsVersion.objects.create(
        number=number, substantial=substantial, published_at=now or timezone.now()
    )
    if substantial:
        transaction.on_commit(lambda: terms_change_notify(version_id=version.pk), robust=True)
    return version


def terms_change_notify(*, version_id: int) -> int:
    """Queue one email per active account holder who joined before the version; returns how many.

    Batches in one transaction each with their progress mark: a rerun after a crash emails nobody twice.
    """
    users = get_user_model().objects.filter(is_active=True).order_by("pk")
    queued = 0
    while True:
        with transaction.atomic():
            version = TermsVersion.objects.select_for_update().get(pk=version_id)
            if version.notified_at is not None:
                return queued
            batch = list(
                users.filter(
                    pk__gt=version.notified_through_user_id, date_joined__lte=version.published_at
                ).values_list("pk", "email", "language")[:NOTIFY_BATCH]
            )
            if not batch:
                version.notified_at = timezone.now()
                version.save(update_fields=["notified_at"])
                security_event_record(
                    action="privacy.terms_changed", data={"version": version.number, "notified": queued}
                )
                return queued
            for _pk, email, language in batch:
                email_queue_template(
                    to=email,
                    template="privacy/email/terms_changed",
                    context={"version": version},
                    language=language or settings.LANGUAGE_CODE,
                    kind="privacy_terms_changed",
                )
            version.notified_through_user_id = batch[-1][0]
            version.save(update_fields=["notified_through_user_id"])
            queued += len(batch)


def terms_signup_record(sender=None, *, request, user, **kwargs) -> None:
    """allauth's `user_signed_up`: the form refused the sign-up without the checkbox; record the version."""
    terms_acceptance_record(email=user.email, user=user, context="signup")
