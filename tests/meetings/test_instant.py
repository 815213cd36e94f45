"""Instant meetings: "Start a meeting now" over HTTP, what is stored (nothing personal), who may enter, and
the 7-day rule with a frozen clock."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import serializers
from django.core.exceptions import ValidationError
from django.utils import timezone

from tessera.core.csrf import form_token_make
from tessera.core.models import OutboxMessage, SecurityEvent
from tessera.meetings import links, services
from tessera.meetings.models import Event, Invitation, MeetingSession, SessionParticipant
from tessera.meetings.room import services as room_services
from tessera.meetings.room.selectors import room_entry
from tessera.privacy.register import registry
from tessera.privacy.retention import retention_sweep

from .conftest import form_post

pytestmark = pytest.mark.django_db

IP = "203.0.113.57"
AGENT = "InstantProbe/7.3 (a browser)"
GUEST = re.compile(r'value="(https?://[^"]+/m/([A-Za-z0-9_-]+)#([A-Za-z0-9_-]+))"')
MANAGE = re.compile(r'value="(https?://[^"]+/m/manage/([A-Za-z0-9_-]+)#([A-Za-z0-9_-]+))"')


def start(client, path="/en/m/now/"):
    return form_post(client, path, {}, REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)


def test_start_now_opens_a_room_with_no_title_no_address_and_sends_no_email(client):
    response = start(client)
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.instant and event.status == Event.Status.SCHEDULED
    assert event.title == "" and event.description == "" and event.organiser_email == ""
    assert event.created_by is None and event.organisation is None and event.language == "en"
    assert not event.reminder_enabled and not event.key_in_links and event.room_secret_check == ""
    assert event.starts_at <= timezone.now() and event.duration_minutes == 120
    (guest,) = Invitation.objects.all()
    assert guest.kind == Invitation.Kind.GUEST and guest.email == ""
    assert OutboxMessage.objects.count() == 0
    html = response.content.decode()
    ((guest_url, room, token),) = GUEST.findall(html)
    ((manage_url, public_id, manage_token),) = MANAGE.findall(html)
    assert room == event.room_id and public_id == event.public_id
    # Neither link carries a key: only a token, whose hash is what the server keeps.
    assert "." not in guest_url.split("#")[1] and "." not in manage_url.split("#")[1]
    assert Invitation.objects.get(token_hash=links.token_digest(token)) == guest
    assert event.manage_token_hash == links.token_digest(manage_token)
    # The organiser's room link is built by the page's script, with the key it makes there.
    assert "data-organiser-link" in html and "#o." not in html
    assert f'data-manage-token="{manage_token}"' in html and "instant.js" in html


def test_nothing_personal_is_stored_and_the_security_log_entry_names_nobody(client):
    assert start(client).status_code == 200
    stored = serializers.serialize("json", [*Event.objects.all(), *Invitation.objects.all()])
    log = serializers.serialize("json", SecurityEvent.objects.all())
    for text in (stored, log):
        assert IP not in text and AGENT not in text and "InstantProbe" not in text
    (entry,) = SecurityEvent.objects.filter(action="meetings.instant_created")
    assert entry.ip is None and entry.user_agent == "" and entry.email == "" and entry.actor_id is None
    # Nothing that outlives the room points to it.
    assert entry.data == {} and Event.objects.get().public_id not in log


def test_the_pages_set_no_cookie_hold_no_inline_script_and_stay_small(client):
    response = start(client)
    assert not response.cookies and len(response.content) < 100_000
    html = response.content.decode()
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    for path in ["/", "/en/", "/m/new/", "/en/m/new/"]:
        page = client.get(path)
        assert page.status_code == 200 and not page.cookies, path
        assert 'action="' + ("/en" if path.startswith("/en") else "") + '/m/now/"' in page.content.decode()


@pytest.mark.parametrize(("path", "language"), [("/m/now/", "fr"), ("/en/m/now/", "en")])
def test_the_room_takes_the_language_of_the_page(client, path, language):
    response = start(client, path)
    assert Event.objects.get().language == language
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    ((guest_url, _, _),) = GUEST.findall(html)
    assert ("/en/m/" in guest_url) == (language == "en")


def test_a_get_is_refused_and_creates_nothing(client):
    assert client.get("/en/m/now/").status_code == 405
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0


def test_a_post_without_form_token_or_from_another_origin_is_refused(client):
    assert client.post("/en/m/now/", {}, HTTP_ORIGIN="http://testserver").status_code == 403
    assert form_post(client, "/en/m/now/", {}, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert Event.objects.count() == 0


def test_instant_creation_is_rate_limited_per_network_address(client, settings):
    settings.TESSERA_MEETINGS = {"instant_per_ip": (2, 3600)}
    assert start(client).status_code == 200 and start(client).status_code == 200
    refused = start(client)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many attempts" in refused.content.decode() and not refused.cookies
    assert Event.objects.count() == 2 and Invitation.objects.count() == 2
    # Its own scope: the scheduling form still counts separately.
    assert form_post(client, "/en/m/now/", {}, REMOTE_ADDR="198.51.100.1").status_code == 200


def test_the_guest_link_lands_in_the_lobby_and_the_organiser_token_opens_the_room(client):
    html = start(client).content.decode()
    ((_, room, token),) = GUEST.findall(html)
    ((_, _, manage_token),) = MANAGE.findall(html)
    status = client.post(
        f"/en/m/{room}/status",
        json.dumps({"token": token}),
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
        HTTP_X_CSRFTOKEN=form_token_make(),
    )
    body = status.json()
    assert body["state"] == "lobby" and body["title"] == "Instant meeting"
    guest = room_entry(room_id=room, kind="guest", token=token)
    assert guest.state == "lobby" and guest.role == "guest"
    organiser = room_entry(room_id=room, kind="organiser", token=manage_token)
    assert organiser.state == "open" and organiser.role == "organiser"
    # The room stops letting people in once its two hours and the grace period are over.
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=31), tick=False):
        assert room_entry(room_id=room, kind="guest", token=token).state != "lobby"


def test_the_management_page_of_an_instant_meeting_offers_no_invitee_and_no_details(client):
    html = start(client).content.decode()
    ((_, public_id, manage_token),) = MANAGE.findall(html)
    page = form_post(client, f"/en/m/manage/{public_id}", {"key": manage_token}).content.decode()
    assert "Instant meeting" in page and 'data-testid="guest-link"' in page
    assert 'value="add"' not in page and 'value="update"' not in page and 'value="cancel"' not in page
    assert "7 days after the room was last used" in page
    refused = form_post(
        client, f"/en/m/manage/{public_id}", {"key": manage_token, "action": "add", "email": "a@example.org"}
    )
    assert "no invitees" in refused.content.decode()
    assert Invitation.objects.count() == 1 and OutboxMessage.objects.count() == 0
    with pytest.raises(ValidationError):
        services.event_update(event=Event.objects.get(), title="A title")
    assert Event.objects.get().title == ""


def test_the_register_declares_the_7_day_rule_of_instant_meetings():
    rules = dict(registry.retention_rules())
    assert rules["meetings.instant"].period == timedelta(days=7)
    assert "last used" in str(rules["meetings.instant"].description)


def test_an_unused_instant_room_is_deleted_7_days_after_it_was_opened():
    opened = timezone.now().replace(microsecond=0)
    with time_machine.travel(opened, tick=False):
        services.event_instant_create(language="en")
    with time_machine.travel(opened + timedelta(days=7) - timedelta(seconds=1), tick=False):
        retention_sweep()
    assert Event.objects.count() == 1 and Invitation.objects.count() == 1
    with time_machine.travel(opened + timedelta(days=7, seconds=1), tick=False):
        retention_sweep()
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0


def test_a_used_instant_room_and_its_sessions_go_7_days_after_its_last_use():
    opened = timezone.now().replace(microsecond=0)
    with time_machine.travel(opened, tick=False):
        created = services.event_instant_create(language="fr")
    with time_machine.travel(opened + timedelta(minutes=5), tick=False):
        session = room_services.meeting_session_open(event=created.event)
        room_services.session_participant_join(session=session, invitation=created.guest)
    last_use = opened + timedelta(hours=2, minutes=20)
    with time_machine.travel(last_use, tick=False):
        room_services.meeting_session_close(session=session)
    # Past 7 days after the session began, but not after the room's last use: everything stays.
    with time_machine.travel(last_use + timedelta(days=7) - timedelta(seconds=1), tick=False):
        retention_sweep()
    assert Event.objects.count() == 1 and Invitation.objects.count() == 1
    assert MeetingSession.objects.count() == 1 and SessionParticipant.objects.count() == 1
    with time_machine.travel(last_use + timedelta(days=7, seconds=1), tick=False):
        retention_sweep()
    assert Event.objects.count() == 0 and Invitation.objects.count() == 0
    assert MeetingSession.objects.count() == 0 and SessionParticipant.objects.count() == 0


def test_a_scheduled_events_sessions_keep_their_own_7_day_rule(scheduled):
    event = scheduled.event
    with time_machine.travel(event.starts_at, tick=False):
        session = room_services.meeting_session_open(event=event)
    with time_machine.travel(event.starts_at + timedelta(hours=3), tick=False):
        room_services.meeting_session_close(session=session)
        services.event_instant_create(language="en")
    with time_machine.travel(event.starts_at + timedelta(days=7, seconds=1), tick=False):
        retention_sweep()
    assert MeetingSession.objects.count() == 0
    assert (
        Event.objects.filter(instant=False).count() == 1 and Event.objects.filter(instant=True).count() == 1
    )
