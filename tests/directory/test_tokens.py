"""Token lifecycle, with a frozen clock: each deletion of a refresh token is proved.

Deleted on disconnect (after Google's revocation endpoint), when the provider answers invalid_grant,
and after 90 days unused; an access token only ever lives in the caller's memory.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tessera.accounts.models import Membership
from tessera.cards.models import Card
from tessera.directory.crypto import token_open
from tessera.directory.models import Connection, Provider, SyncRun
from tessera.directory.providers import NotOrganisationAdmin, ProviderUnreachable, TokenRevoked
from tessera.directory.services import connections
from tessera.directory.services.people import Person, person_apply
from tests.directory.oauth_support import events, google_connect, log_text, microsoft_connect
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0) + timedelta(days=1)


@pytest.fixture
def admin():
    return UserFactory()


@pytest.fixture
def org(admin):
    return OrganisationFactory(owner=admin, name="Example")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def stored(connection) -> Connection:
    return Connection.objects.get(pk=connection.pk)


def test_disconnecting_google_revokes_then_deletes_the_token(fake_google, org, admin, clock):
    connection, _ = google_connect(organisation=org, actor=admin)
    refresh = token_open(connection.refresh_token)
    clock.shift(timedelta(hours=2))

    assert connections.connection_disconnect(connection=connection, actor=admin) is True

    row = stored(connection)
    assert row.refresh_token == "" and row.token_used_at is None and row.admin_checked_at is None
    assert row.disconnected_at == START + timedelta(hours=2) and not row.sync_enabled
    assert fake_google.revocations == [refresh] and fake_google.refresh_tokens[refresh].revoked
    [event] = events("directory.connection.disconnected")
    assert event.actor_id == admin.pk and event.data["revoked"] is True
    assert refresh not in log_text()
    with pytest.raises(TokenRevoked):
        connections.connection_access_token(connection=row)
    # Disconnecting again changes nothing; a new connection may be made.
    assert connections.connection_disconnect(connection=row, actor=admin) is True
    assert len(events("directory.connection.disconnected")) == 1
    assert google_connect(organisation=org, actor=admin)[0].pk != connection.pk


def test_google_unreachable_at_disconnect_still_deletes_the_token(fake_google, org, admin, clock):
    connection, _ = google_connect(organisation=org, actor=admin)
    fake_google.stop()
    assert connections.connection_disconnect(connection=connection, actor=admin) is False
    row = stored(connection)
    assert row.refresh_token == "" and not row.is_live
    assert events("directory.connection.disconnected")[0].data["revoked"] is False


def test_disconnecting_entra_stops_the_sync_releases_fields_and_keeps_members(
    fake_microsoft, org, admin, clock
):
    connection, _ = microsoft_connect(organisation=org, actor=admin)
    Connection.objects.filter(pk=connection.pk).update(sync_enabled=True)
    person = Person(
        external_id="obj-ada",
        user_name="ada@contoso.example",
        email="ada@contoso.example",
        values={"first_name": "Ada", "last_name": "Lovelace", "job_title": "Engineer"},
        display_name="Ada Lovelace",
    )
    person_apply(
        organisation=org, provider=Provider.MICROSOFT, person=person, locked=("first_name", "job_title")
    )
    card = Card.objects.get(organisation=org, owner__email="ada@contoso.example")
    assert card.directory_fields
    queued = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.DELTA)
    members = Membership.objects.filter(organisation=org).count()

    assert connections.connection_disconnect(connection=connection, actor=admin) is True

    row = stored(connection)
    assert row.refresh_token == "" and not row.sync_enabled and row.disconnected_at == START
    queued.refresh_from_db()
    assert queued.status == SyncRun.Status.FAILED and queued.finished_at == START
    assert Membership.objects.filter(organisation=org).count() == members  # the members stay
    card.refresh_from_db()
    assert card.directory_fields == [] and card.job_title == "Engineer"  # editable again, values kept
    assert not fake_microsoft.calls("POST", r"revoke")  # Entra has no such endpoint: deleted here


def test_only_an_organisation_admin_disconnects(fake_google, org, admin):
    connection, _ = google_connect(organisation=org, actor=admin)
    member = UserFactory()
    MembershipFactory(organisation=org, user=member, role="member")
    with pytest.raises(NotOrganisationAdmin):
        connections.connection_disconnect(connection=connection, actor=member)
    assert stored(connection).refresh_token and stored(connection).is_live
    assert not fake_google.revocations


def test_invalid_grant_deletes_the_google_token(fake_google, org, admin, clock):
    connection, _ = google_connect(organisation=org, actor=admin)
    clock.shift(timedelta(days=3))
    fake_google.revoke_all()  # the administrator removed the app from their Google account
    with pytest.raises(TokenRevoked) as revoked:
        connections.connection_access_token(connection=connection)
    assert "Connect it again" in str(revoked.value.message)
    row = stored(connection)
    assert row.refresh_token == "" and row.is_live  # still connected: the page asks to reconnect
    [event] = events("directory.token.deleted")
    assert event.data["reason"] == "invalid_grant" and event.created_at == START + timedelta(days=3)
    # No second call to Google: without a token there is nothing to try.
    calls = len(fake_google.calls("POST", r"^/token$"))
    with pytest.raises(TokenRevoked):
        connections.connection_access_token(connection=row)
    assert len(fake_google.calls("POST", r"^/token$")) == calls


def test_a_token_unused_for_90_days_is_deleted(fake_google, org, admin, clock):
    connection, _ = google_connect(organisation=org, actor=admin)
    refresh = token_open(connection.refresh_token)

    clock.shift(timedelta(days=60))
    connections.connection_access_token(connection=connection)  # used: the 90 days start again
    assert stored(connection).token_used_at == START + timedelta(days=60)

    clock.shift(timedelta(days=90))
    assert connections.connection_tokens_expire() == 0  # exactly 90 days: kept
    assert stored(connection).refresh_token

    clock.shift(timedelta(seconds=1))
    assert connections.connection_tokens_expire() == 1
    row = stored(connection)
    assert row.refresh_token == "" and row.is_live
    assert fake_google.revocations == [refresh]  # withdrawn at Google too
    assert events("directory.token.deleted")[0].data["reason"] == "unused"
    assert connections.connection_tokens_expire() == 0
    with pytest.raises(TokenRevoked):
        connections.connection_access_token(connection=row)


def test_a_token_past_90_days_is_deleted_at_use_even_before_the_job(fake_microsoft, org, admin, clock):
    connection, _ = microsoft_connect(organisation=org, actor=admin)
    clock.shift(timedelta(days=90, seconds=1))
    with pytest.raises(TokenRevoked):
        connections.connection_access_token(connection=connection)
    assert stored(connection).refresh_token == ""
    assert not fake_microsoft.calls("POST", rf"^/{fake_microsoft.tenant_id}/oauth2")


def test_an_unreadable_token_is_deleted(fake_google, org, admin, settings):
    connection, _ = google_connect(organisation=org, actor=admin)
    settings.TESSERA_DIRECTORY_KEYS = ["8Kz0uXU2lHTsrLiYXW_7mp8G8tPJMZDlY3d2cZ5p0vI="]  # the old key is gone
    with pytest.raises(TokenRevoked):
        connections.connection_access_token(connection=connection)
    assert stored(connection).refresh_token == ""
    assert events("directory.token.deleted")[0].data["reason"] == "unreadable"


def test_access_tokens_stay_in_the_jobs_memory(fake_microsoft, org, admin, clock):
    connection, _ = microsoft_connect(organisation=org, actor=admin)
    source = connections.connection_token_source(connection=connection)
    first = source()
    clock.shift(3400)
    assert source() == first  # one refresh for the whole job while the token is fresh
    refreshes = rf"^/{fake_microsoft.tenant_id}/oauth2/v2\.0/token$"
    assert len(fake_microsoft.calls("POST", refreshes)) == 1
    clock.shift(100)  # within two minutes of its expiry (3599 s): a new one, before Graph refuses it
    assert source() not in ("", first)
    assert len(fake_microsoft.calls("POST", refreshes)) == 2
    row = stored(connection)
    kept = " ".join(str(value) for value in Connection.objects.filter(pk=row.pk).values().get().values())
    assert first not in kept and first not in log_text()


def test_a_provider_that_cannot_answer_keeps_the_token(fake_google, fake_microsoft, org, admin):
    google, _ = google_connect(organisation=org, actor=admin)
    entra, _ = microsoft_connect(organisation=org, actor=admin)
    fake_google.fail_next(1, status=503, path=r"^/token$")
    fake_microsoft.fail_next(2, status=503, path=r"/oauth2/v2\.0/token$")
    with pytest.raises(ProviderUnreachable):
        connections.connection_access_token(connection=google)
    with pytest.raises(ProviderUnreachable):
        connections.connection_access_token(connection=entra)
    assert stored(google).refresh_token and stored(entra).refresh_token  # a bad minute is not a revocation
    assert not events("directory.token.deleted")
    fake_google.stop()
    fake_microsoft.stop()
    with pytest.raises(ProviderUnreachable):
        connections.connection_access_token(connection=google)
    with pytest.raises(ProviderUnreachable):
        connections.connection_access_token(connection=entra)
    assert stored(google).refresh_token and stored(entra).refresh_token
