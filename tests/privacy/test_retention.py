"""Each retention rule on a frozen clock: the day before its limit nothing goes, the day after it does."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction

from tessera.core.audit import security_event_record
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.core.outbox import email_queue
from tessera.privacy import retention, services
from tessera.privacy.models import (
    ConsentRecord,
    Incident,
    PostMortemDirective,
    RetentionRun,
    RightsLink,
    RightsRequest,
)
from tessera.privacy.retention import batched_delete, retention_sweep
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def at(days: float):
    return time_machine.travel(T0 + timedelta(days=days), tick=False)


def sweep(days: float) -> dict:
    with at(days):
        return retention_sweep()


def test_security_log_is_kept_12_months():
    with at(0):
        security_event_record(action="auth.login", email="kept@example.org", ip="192.0.2.1")
    sweep(364)
    assert SecurityEvent.objects.filter(email="kept@example.org").exists()
    counts = sweep(366)
    assert not SecurityEvent.objects.filter(email="kept@example.org").exists()
    assert counts["core.security_log"] >= 1


def test_sent_emails_are_purged_after_30_days_and_pending_ones_never():
    with at(0):
        sent = email_queue(to="a@example.org", subject="s", body_text="b", kind="test")
        pending = email_queue(to="b@example.org", subject="s", body_text="b", kind="test")
    OutboxMessage.objects.filter(pk=sent.pk).update(status=OutboxMessage.Status.SENT)
    OutboxMessage.objects.filter(pk=pending.pk).update(status=OutboxMessage.Status.PENDING)
    sweep(29)
    assert OutboxMessage.objects.filter(pk=sent.pk).exists()
    sweep(31)
    assert not OutboxMessage.objects.filter(pk=sent.pk).exists()
    assert OutboxMessage.objects.filter(pk=pending.pk).exists()


def _consent(email="m@example.org", purpose=ConsentRecord.Purpose.MARKETING):
    return services.consent_record(
        email=email, purpose=purpose, text="Send me news", text_version="2025-01", method="checkbox"
    )


def test_marketing_consent_is_deleted_after_3_years_without_activity():
    with at(0):
        consent = _consent()
    sweep(3 * 365 - 1)
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()
    sweep(3 * 365 + 1)
    assert not ConsentRecord.objects.filter(pk=consent.pk).exists()


def test_a_ledger_entry_tied_to_other_data_goes_at_its_limit_and_marketing_is_unchanged():
    with at(0):
        marketing = _consent()
        answer = services.consent_record(
            email="p@example.org",
            purpose=ConsentRecord.Purpose.RECORDING_NOTICE,
            text="Recording?",
            text_version="1",
            method="dialog",
            keep_until=T0 + timedelta(days=7),
        )
    sweep(6)
    assert ConsentRecord.objects.filter(pk=answer.pk).exists()
    sweep(8)
    assert not ConsentRecord.objects.filter(pk=answer.pk).exists()
    assert ConsentRecord.objects.get(pk=marketing.pk).email == "m@example.org"


def test_withdrawn_marketing_consent_keeps_only_the_minimal_proof_for_5_years():
    with at(0):
        consent = _consent()
    with at(10):
        services.consent_withdraw(email="m@example.org", method="link")
    proof = ConsentRecord.objects.get(pk=consent.pk)
    assert proof.email == "" and proof.user is None and proof.withdrawn_at
    assert proof.text_hash and proof.text_version == "2025-01" and proof.subject_digest
    sweep(10 + 5 * 365 - 1)
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()
    sweep(10 + 5 * 365 + 1)
    assert not ConsentRecord.objects.filter(pk=consent.pk).exists()


def test_a_withdrawal_interrupted_before_anonymising_is_finished_by_the_sweep():
    with at(0):
        consent = _consent()
    ConsentRecord.objects.filter(pk=consent.pk).update(withdrawn_at=T0)  # crash between the two steps
    sweep(1)
    assert ConsentRecord.objects.get(pk=consent.pk).email == ""


def test_rights_requests_are_kept_5_years_after_closure():
    with at(0):
        record = services.rights_request_create(email="r@example.org", kind="access", channel="portal")
        services.rights_request_close(record=record, answer="done")
    sweep(5 * 365 - 1)
    assert RightsRequest.objects.filter(pk=record.pk).exists()
    sweep(5 * 365 + 1)
    assert not RightsRequest.objects.filter(pk=record.pk).exists()


def test_open_rights_requests_are_never_purged():
    with at(0):
        record = services.rights_request_create(email="r@example.org", kind="access", channel="post")
    sweep(10 * 365)
    assert RightsRequest.objects.filter(pk=record.pk).exists()


def test_one_time_links_are_deleted_a_day_after_they_expire(user):
    with at(0):
        services.rights_link_request(email=user.email, language="en")
    assert RightsLink.objects.count() == 1
    sweep(1.9)  # expired after 24 h, kept one more day
    assert RightsLink.objects.count() == 1
    sweep(2.1)
    assert RightsLink.objects.count() == 0


def test_expired_sessions_are_deleted():
    with at(0):
        store = SessionStore()
        store["x"] = 1
        store.set_expiry(3600 * 24)
        store.create()
    sweep(0.9)
    assert Session.objects.filter(session_key=store.session_key).exists()
    sweep(1.1)
    assert not Session.objects.filter(session_key=store.session_key).exists()


def test_unverified_sign_ups_are_deleted_after_7_days(user):
    with at(0):
        pending = UserFactory(email="pending@example.org", unverified=True)
        get_user_model().objects.filter(pk=user.pk).update(date_joined=T0)
    sweep(6)
    assert get_user_model().objects.filter(pk=pending.pk).exists()
    sweep(8)
    assert not get_user_model().objects.filter(pk=pending.pk).exists()
    assert get_user_model().objects.filter(pk=user.pk).exists()  # verified: kept


def test_oauth_tokens_are_deleted_once_no_longer_needed(user):
    app = SocialApp.objects.create(provider="openid_connect", provider_id="google", name="G", client_id="c")
    with at(0):
        account = SocialAccount.objects.create(user=user, provider="google", uid="1", last_login=T0)
        other = SocialAccount.objects.create(user=user, provider="google", uid="2", last_login=T0)
        expiring = SocialToken.objects.create(
            app=app, account=account, token="a", expires_at=T0 + timedelta(hours=2)
        )
        refresh = SocialToken.objects.create(app=app, account=other, token="r", expires_at=None)
    with time_machine.travel(T0 + timedelta(minutes=50), tick=False):
        retention_sweep()
    assert SocialToken.objects.filter(pk__in=[expiring.pk, refresh.pk]).count() == 2
    with time_machine.travel(T0 + timedelta(minutes=70), tick=False):
        retention_sweep()
    assert not SocialToken.objects.filter(pk=refresh.pk).exists()  # idle an hour
    assert SocialToken.objects.filter(pk=expiring.pk).exists()
    with time_machine.travel(T0 + timedelta(hours=2, minutes=1), tick=False):
        retention_sweep()
    assert not SocialToken.objects.filter(pk=expiring.pk).exists()  # expired
    assert SocialAccount.objects.filter(pk=account.pk).exists()


def test_revoked_post_mortem_directives_are_deleted():
    with at(0):
        services.directive_set(email="d@example.org", instruction="erase")
    sweep(1)
    assert PostMortemDirective.objects.count() == 1
    with at(2):
        services.directive_revoke(email="d@example.org")
    sweep(2.01)
    assert PostMortemDirective.objects.count() == 0


def test_the_sweep_is_idempotent_and_logs_counts_per_activity():
    with at(0):
        for i in range(3):
            _consent(email=f"p{i}@example.org")
    first = sweep(4 * 365)
    second = sweep(4 * 365)
    assert first["privacy.marketing"] == 3
    assert second["privacy.marketing"] == 0
    entry = SecurityEvent.objects.filter(action="privacy.retention_sweep").order_by("-seq").first()
    assert entry.data["counts"]["privacy.marketing"] == 0
    assert set(entry.data["counts"]) == {name for name, r in retention.registry.retention_rules()}
    assert RetentionRun.objects.get(activity="privacy.marketing").total_count == 3


def _expired_outbox(count, prefix):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            kind="t",
            recipient=f"{prefix}{i}@example.org",
            to=[],
            subject="s",
            body_text="b",
            message_id=f"<{prefix}{i}@t>",
            status=OutboxMessage.Status.SENT,
            created_at=T0,
        )
        for i in range(count)
    )


class _Transactions:
    """Stands in for django.db.transaction inside the retention engine, counting its transactions."""

    def __init__(self, crash_at=None):
        self.sizes_before, self.crash_at = [], crash_at

    def atomic(self, *args, **kwargs):
        self.sizes_before.append(OutboxMessage.objects.count())
        if len(self.sizes_before) == self.crash_at:
            raise RuntimeError("worker killed")
        return transaction.atomic(*args, **kwargs)


def test_deletes_go_by_batches_of_at_most_1000_rows_per_transaction(monkeypatch):
    _expired_outbox(2500, "x")
    spy = _Transactions()
    monkeypatch.setattr(retention, "transaction", spy)
    assert batched_delete(OutboxMessage.objects.filter(created_at__lte=T0).order_by()) == 2500
    assert spy.sizes_before == [2500, 1500, 500, 0]


def test_a_sweep_interrupted_by_a_crash_resumes_on_the_next_run(monkeypatch):
    _expired_outbox(2100, "y")
    monkeypatch.setattr(retention, "transaction", _Transactions(crash_at=2))
    with pytest.raises(RuntimeError):
        batched_delete(OutboxMessage.objects.filter(created_at__lte=T0).order_by())
    assert OutboxMessage.objects.count() == 1100  # the first batch committed, nothing half-done
    monkeypatch.undo()
    counts = sweep(40)
    assert counts["core.outbox"] == 1100
    assert OutboxMessage.objects.count() == 0


def test_the_sweep_batches_wal_checkpoints_on_sqlite_and_restores_the_setting(monkeypatch):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: other databases are left alone")
    seen = []

    def apply(*, now):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint")
            seen.append(cursor.fetchone()[0])
        return 0

    rules = [("test.probe", type("R", (), {"apply": staticmethod(apply)})())]
    monkeypatch.setattr(retention.registry, "retention_rules", lambda: rules)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (before,) = cursor.fetchone()
    assert retention_sweep() == {"test.probe": 0}
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == before
    assert seen == [retention.SWEEP_CHECKPOINT_PAGES]


# --- "3 years without activity": activity moves the deadline --------------------------------------

THREE_YEARS = 3 * 365


def _sign_in(user):
    """Through allauth's sign-in form, posted the way a browser posts it from our page."""
    from django.test import Client

    from tessera.core.csrf import FORM_FIELD, form_token_make

    client = Client(headers={"Origin": "http://testserver"})
    response = client.post(
        "/en/accounts/login/",
        {"login": user.email, "password": "correct horse battery", FORM_FIELD: form_token_make()},
    )
    assert response.status_code == 302, response.content.decode()[:500]


def test_a_sign_in_moves_the_3_year_deadline_of_a_marketing_consent(user):
    with at(0):
        consent = services.consent_record(
            email=user.email, purpose="marketing", text="News", text_version="1", method="checkbox", user=user
        )
    with at(400):
        _sign_in(user)
    assert ConsentRecord.objects.get(pk=consent.pk).last_activity_at == T0 + timedelta(days=400)
    sweep(THREE_YEARS + 1)  # 3 years after the consent, but not without activity
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()
    sweep(400 + THREE_YEARS - 1)
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()
    sweep(400 + THREE_YEARS + 1)
    assert not ConsentRecord.objects.filter(pk=consent.pk).exists()


def test_confirming_the_opt_in_again_moves_the_deadline_of_the_earlier_consent():
    with at(0):
        first = _consent()
    with at(500):
        again = _consent()
    assert ConsentRecord.objects.get(pk=first.pk).last_activity_at == T0 + timedelta(days=500)
    sweep(500 + THREE_YEARS - 1)
    assert ConsentRecord.objects.filter(pk__in=[first.pk, again.pk]).count() == 2
    sweep(500 + THREE_YEARS + 1)
    assert not ConsentRecord.objects.filter(pk__in=[first.pk, again.pk]).exists()


def test_visiting_the_unsubscribe_page_is_not_activity(client):
    with at(0):
        consent = _consent()
        message = services.marketing_email_queue(
            to="m@example.org", template="privacy/email/policy_changed", context={"version": {"number": 1}}
        )
    path = message.headers["List-Unsubscribe"].strip("<>").split("testserver", 1)[1]
    with at(600):
        assert client.get(path).status_code == 200
    assert ConsentRecord.objects.get(pk=consent.pk).last_activity_at == T0
    sweep(THREE_YEARS + 1)
    assert not ConsentRecord.objects.filter(pk=consent.pk).exists()


def test_activity_does_not_revive_a_withdrawn_consent(user):
    with at(0):
        consent = services.consent_record(
            email=user.email, purpose="marketing", text="News", text_version="1", method="checkbox"
        )
    with at(10):
        services.consent_withdraw(email=user.email, method="link")
    with at(20):
        _sign_in(user)
    proof = ConsentRecord.objects.get(pk=consent.pk)
    assert proof.last_activity_at == T0 and proof.email == ""


# --- Rules that had no frozen-clock test yet ------------------------------------------------------


def test_the_backoffice_history_is_kept_12_months(staff):
    from django.contrib.admin.models import CHANGE, LogEntry

    with at(0):
        LogEntry.objects.log_actions(
            user_id=staff.pk, queryset=get_user_model().objects.filter(pk=staff.pk), action_flag=CHANGE
        )
    entry = LogEntry.objects.get()
    sweep(364)
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    counts = sweep(366)
    assert not LogEntry.objects.filter(pk=entry.pk).exists()
    assert counts["core.backoffice_log"] == 1


def _incident(**extra):
    values = dict(
        title="Breach",
        nature="n",
        people_categories="p",
        record_categories="r",
        consequences="c",
        measures="m",
        affected_emails="victim@example.org",
    )
    values.update(extra)
    return Incident.objects.create(**values)


def test_incidents_are_kept_5_years_after_closure():
    with at(0):
        incident = _incident(affected_emails="", closed_at=T0)
        still_open = _incident(affected_emails="")
    sweep(5 * 365 - 1)
    assert Incident.objects.filter(pk=incident.pk).exists()
    sweep(5 * 365 + 1)
    assert not Incident.objects.filter(pk=incident.pk).exists()
    assert Incident.objects.filter(pk=still_open.pk).exists()  # an open incident is never purged


def test_addresses_to_notify_are_erased_by_the_sweep_once_the_incident_is_closed():
    with at(0):
        incident = _incident(closed_at=T0 + timedelta(days=20))
    sweep(19)
    assert Incident.objects.get(pk=incident.pk).affected_emails == "victim@example.org"
    sweep(21)
    assert Incident.objects.get(pk=incident.pk).affected_emails == ""


def test_addresses_added_after_a_first_notification_wait_for_theirs():
    from tessera.privacy.dpo import incident_notify_people

    with at(0):
        incident = _incident()
        incident_notify_people(incident=incident)
        Incident.objects.filter(pk=incident.pk).update(affected_emails="late@example.org")
    sweep(1)
    assert Incident.objects.get(pk=incident.pk).affected_emails == "late@example.org"


def _withdrawn_but_not_anonymised(count):
    """The state a crash between a withdrawal's two steps leaves: withdrawn, address still there."""
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            purpose="marketing",
            email=f"w{i}@example.org",
            subject_digest=services.subject_digest(f"w{i}@example.org"),
            text_version="1",
            text_hash="h",
            method="checkbox",
            given_at=T0,
            last_activity_at=T0,
            withdrawn_at=T0,
        )
        for i in range(count)
    )


class _UpdateTransactions:
    """Stands in for django.db.transaction inside the retention engine, counting addresses left."""

    def __init__(self, crash_at=None):
        self.left_before, self.crash_at = [], crash_at

    def atomic(self, *args, **kwargs):
        self.left_before.append(ConsentRecord.objects.exclude(email="").count())
        if len(self.left_before) == self.crash_at:
            raise RuntimeError("worker killed")
        return transaction.atomic(*args, **kwargs)


def _anonymised_by_batches():
    return retention.batched_update(
        ConsentRecord.objects.filter(withdrawn_at__isnull=False).exclude(email=""),
        values={"email": "", "context": ""},
    )


def test_anonymisation_goes_by_batches_of_at_most_1000_rows_per_transaction(monkeypatch):
    _withdrawn_but_not_anonymised(2500)
    spy = _UpdateTransactions()
    monkeypatch.setattr(retention, "transaction", spy)
    assert _anonymised_by_batches() == 2500
    assert spy.left_before == [2500, 1500, 500, 0]


def test_an_anonymisation_interrupted_by_a_crash_resumes_on_the_next_sweep(monkeypatch):
    _withdrawn_but_not_anonymised(2100)
    monkeypatch.setattr(retention, "transaction", _UpdateTransactions(crash_at=2))
    with pytest.raises(RuntimeError):
        _anonymised_by_batches()
    assert ConsentRecord.objects.exclude(email="").count() == 1100  # the first batch committed whole
    monkeypatch.undo()
    counts = sweep(1)
    assert counts["privacy.marketing"] == 1100
    assert not ConsentRecord.objects.exclude(email="").exists()
    assert ConsentRecord.objects.count() == 2100  # anonymised, kept as proof
