"""One inactivity rule for every non-staff account, on a frozen clock: warned at 23 months, ended at 24."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tessera.accounts.models import User
from tessera.core.models import OutboxMessage
from tessera.privacy import accounts as privacy
from tessera.privacy.models import InactivityWarning
from tessera.privacy.retention import retention_sweep
from tests.accounts.conftest import sign_in
from tests.accounts.support import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def sweep(at):
    with time_machine.travel(at, tick=False):
        return retention_sweep()


def _warnings():
    return OutboxMessage.objects.filter(kind="accounts_inactivity_warning")


@pytest.fixture
def meetings_only(db):
    """Someone who signed up to organise meetings and never made a card."""
    with time_machine.travel(T0, tick=False):
        return UserFactory(email="mia@example.org", language="en")


def test_an_account_without_a_card_is_warned_at_23_months_and_deleted_at_24(meetings_only):
    sweep(T0 + privacy.INACTIVITY_WARNING - DAY)
    assert not _warnings().exists()
    sweep(T0 + privacy.INACTIVITY_WARNING + DAY)
    warning = _warnings().get()
    assert warning.recipient == "mia@example.org"
    assert "unused for 23 months" in warning.body_text and "deleted" in warning.body_text
    assert "/accounts/" in warning.body_text
    sweep(T0 + privacy.INACTIVITY_WARNING + 2 * DAY)
    assert _warnings().count() == 1  # warned once
    sweep(T0 + privacy.INACTIVITY_LIMIT - DAY)
    assert User.objects.filter(pk=meetings_only.pk).exists()
    sweep(T0 + privacy.INACTIVITY_LIMIT + DAY)
    assert not User.objects.filter(pk=meetings_only.pk).exists()
    assert not InactivityWarning.objects.exists()


def test_a_sign_in_after_the_warning_resets_the_clock(client, meetings_only):
    sweep(T0 + privacy.INACTIVITY_WARNING + DAY)
    assert _warnings().count() == 1
    signed_in_at = T0 + privacy.INACTIVITY_WARNING + 5 * DAY
    with time_machine.travel(signed_in_at, tick=False):
        assert sign_in(client, meetings_only).status_code == 302
    sweep(T0 + privacy.INACTIVITY_LIMIT + 10 * DAY)  # past the limit counted from joining
    assert User.objects.filter(pk=meetings_only.pk).exists()
    assert not InactivityWarning.objects.exists()  # the old warning no longer counts
    sweep(signed_in_at + privacy.INACTIVITY_WARNING - DAY)
    assert _warnings().count() == 1
    sweep(signed_in_at + privacy.INACTIVITY_WARNING + DAY)  # 23 months after the sign-in: warned again
    assert _warnings().count() == 2
    sweep(signed_in_at + privacy.INACTIVITY_LIMIT + DAY)
    assert not User.objects.filter(pk=meetings_only.pk).exists()


def test_staff_accounts_are_neither_warned_nor_deleted(db):
    with time_machine.travel(T0, tick=False):
        staff = UserFactory(email="ops@example.org", is_staff=True)
        admin = UserFactory(email="root@example.org", is_superuser=True)
    sweep(T0 + privacy.INACTIVITY_LIMIT * 3)
    assert not _warnings().exists()
    assert User.objects.filter(pk__in=[staff.pk, admin.pk]).count() == 2


def test_a_restricted_account_waits_for_the_restriction_to_be_lifted(meetings_only):
    from tessera.privacy import services as privacy_services
    from tessera.privacy.models import ProcessingLimit

    privacy_services.limit_add(email="mia@example.org", kind=ProcessingLimit.Kind.RESTRICTION)
    sweep(T0 + privacy.INACTIVITY_LIMIT + 10 * DAY)
    assert not _warnings().exists() and User.objects.filter(pk=meetings_only.pk).exists()
    privacy_services.limit_lift(email="mia@example.org", kind=ProcessingLimit.Kind.RESTRICTION)
    sweep(T0 + privacy.INACTIVITY_LIMIT + 11 * DAY)
    assert _warnings().count() == 1  # with the full notice period from now
    sweep(T0 + privacy.INACTIVITY_LIMIT + 11 * DAY + privacy.WARNING_NOTICE - DAY)
    assert User.objects.filter(pk=meetings_only.pk).exists()
