"""Data processing agreement (GDPR Art. 28): versions, acceptance by an organisation's administrator, and
the emails that announce a substantial change.

For its members' card data an organisation is the controller and the operator its processor. The agreement's
text is a template per version, `site/dpa/<number>.html`; its annexes are generated from the register
(`annexes.py`). An organisation's administrator accepts the current version in the organisation's settings;
publishing a substantial version emails every organisation's administrators, through the outbox, in their
language, by batches with a progress mark like the terms-of-use emails.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template.loader import get_template
from django.utils import timezone

from tessera.accounts import selectors as accounts_selectors
from tessera.accounts.models import Membership, Organisation
from tessera.core.audit import security_event_record
from tessera.core.outbox import email_queue_template

from ..models import DpaAcceptance, DpaVersion

NOTIFY_BATCH = 1000
NAME_MAX = 200
ADMIN_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
FIRST_VERSION_PUBLISHED = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)


class DpaError(ValueError):
    """A version or an acceptance of the data processing agreement that cannot be recorded."""


class DpaNotAdmin(DpaError):
    """Only an owner or administrator of the organisation may accept the agreement on its behalf."""


def dpa_current() -> DpaVersion:
    """The latest published version.

    Version 1 ships with the code (migration 0011 publishes it). A database emptied since then, such as a
    flushed test database or a restored partial dump, gets it back here rather than refusing every acceptance.
    """
    version = DpaVersion.objects.order_by("-number").first()
    if version is None:
        version, _created = DpaVersion.objects.get_or_create(
            number=1, defaults={"published_at": FIRST_VERSION_PUBLISHED}
        )
    return version


def _version(version: DpaVersion | int | None) -> DpaVersion:
    if isinstance(version, int):
        found = DpaVersion.objects.filter(number=version).first()
        if found is None:
            raise DpaError("No such version of the data processing agreement.")
        return found
    return version or dpa_current()


def _typed(value: str, what: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise DpaError(f"The {what} of the person accepting is required.")
    if len(value) > NAME_MAX:
        raise DpaError(f"The {what} of the person accepting is longer than {NAME_MAX} characters.")
    return value


@transaction.atomic
def dpa_accept(
    *,
    organisation: Organisation,
    user,
    name: str,
    role: str,
    version: DpaVersion | int | None = None,
    now=None,
    request=None,
) -> DpaAcceptance:
    """Record that `user`, an administrator of `organisation`, accepted `version` (default: the current one)
    on its behalf, under the `name` and `role` they typed. Raises DpaNotAdmin for anyone else."""
    if not accounts_selectors.is_org_admin(user=user, organisation=organisation):
        raise DpaNotAdmin("Only an administrator of the organisation can accept the agreement on its behalf.")
    name, role = _typed(name, "name"), _typed(role, "role")
    version = _version(version)
    acceptance = DpaAcceptance.objects.create(
        organisation=organisation,
        organisation_name=organisation.name,
        version=version,
        accepted_by=user,
        accepted_by_email=user.email.strip().lower(),
        accepted_name=name,
        accepted_role=role,
        accepted_at=now or timezone.now(),
    )
    security_event_record(
        action="privacy.dpa_accepted",
        actor=user,
        request=request,
        data={"organisation": organisation.pk, "version": version.number},
    )
    return acceptance


@transaction.atomic
def dpa_publish(*, number: int, substantial: bool, now=None) -> DpaVersion:
    """Publish version `number`, whose template must exist; a substantial one is emailed once this commits."""
    get_template(f"site/dpa/{number}.html")  # raises TemplateDoesNotExist: no version without its text
    latest = DpaVersion.objects.select_for_update().order_by("-number").first()
    if latest and number <= latest.number:
        raise DpaError(f"Version {number} is not after the current version {latest.number}.")
    version = DpaVersion.objects.create(
        number=number, substantial=substantial, published_at=now or timezone.now()
    )
    if substantial:
        transaction.on_commit(lambda: dpa_change_notify(version_id=version.pk), robust=True)
    return version


def dpa_change_notify(*, version_id: int) -> int:
    """Queue one email per administrator seat (owner or admin) of every organisation; returns how many.

    One per seat, naming the organisation: each organisation accepts on its own. Batches in one transaction
    each with their progress mark: a rerun after a crash emails nobody twice.
    """
    seats = Membership.objects.filter(role__in=ADMIN_ROLES, user__is_active=True).order_by("pk")
    queued = 0
    while True:
        with transaction.atomic():
            version = DpaVersion.objects.select_for_update().get(pk=version_id)
            if version.notified_at is not None:
                return queued
            batch = list(
                seats.filter(pk__gt=version.notified_through_membership_id).select_related(
                    "user", "organisation"
                )[:NOTIFY_BATCH]
            )
            if not batch:
                version.notified_at = timezone.now()
                version.save(update_fields=["notified_at"])
                security_event_record(
                    action="privacy.dpa_changed", data={"version": version.number, "notified": queued}
                )
                return queued
            for seat in batch:
                email_queue_template(
                    to=seat.user.email,
                    template="privacy/email/dpa_changed",
                    context={"version": version, "organisation": seat.organisation},
                    language=seat.user.language or settings.LANGUAGE_CODE,
                    kind="privacy_dpa_changed",
                )
            version.notified_through_membership_id = batch[-1].pk
            version.save(update_fields=["notified_through_membership_id"])
            queued += len(batch)


@dataclass(frozen=True)
class DpaStatus:
    """Which version an organisation accepted, when and by whom, and whether a newer one awaits it."""

    current: DpaVersion
    accepted: DpaAcceptance | None

    @property
    def up_to_date(self) -> bool:
        return self.accepted is not None and self.accepted.version.number >= self.current.number


def dpa_acceptance_latest(*, organisation: Organisation) -> DpaAcceptance | None:
    """The organisation's latest acceptance (its `version`, `accepted_at`, `accepted_name`, `accepted_role`,
    `accepted_by_email` and `accepted_by`), or None if it never accepted; in one query."""
    return (
        DpaAcceptance.objects.filter(organisation=organisation)
        .select_related("version", "accepted_by")
        .order_by("-version__number", "-accepted_at")
        .first()
    )


def dpa_status(*, organisation: Organisation) -> DpaStatus:
    """The organisation's latest acceptance next to the current version, for its settings page."""
    return DpaStatus(current=dpa_current(), accepted=dpa_acceptance_latest(organisation=organisation))
