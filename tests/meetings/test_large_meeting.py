"""The organiser's "large meeting": offered where a Janus is named, refused elsewhere, carried to the room."""

import pytest
from django.core.exceptions import ValidationError

from tessera.accounts.services import api_key_create
from tessera.meetings.forms import EventCreateForm
from tessera.meetings.room import sfu
from tessera.meetings.room.selectors import room_entry
from tessera.meetings.room.state import Room
from tests.factories import EventFactory, OrganisationFactory
from tests.meetings.test_api import call, payload, person
from tests.room.conftest import meeting_create

pytestmark = pytest.mark.django_db

JANUS = ["ws://127.0.0.1:8188/janus"]


@pytest.fixture
def acme_key():
    """An API key of Acme, whose verified member boss@acme.example organises `payload()`."""
    acme = OrganisationFactory(name="Acme")
    person("boss@acme.example", organisation=acme)
    return api_key_create(organisation=acme, name="tool")[1]


def test_the_choice_is_offered_only_where_a_media_server_is_named(settings, client):
    settings.JANUS_URLS = []
    assert "large_meeting" not in EventCreateForm().fields
    assert 'name="large_meeting"' not in client.get("/en/m/new/").content.decode()
    settings.JANUS_URLS = JANUS
    assert "large_meeting" in EventCreateForm().fields
    assert 'name="large_meeting"' in client.get("/en/m/new/").content.decode()


def test_without_a_media_server_a_large_meeting_is_refused_and_nothing_is_stored(settings):
    from tessera.meetings.models import Event

    settings.JANUS_URLS = []
    with pytest.raises(ValidationError) as refused:
        EventFactory(large_meeting=True)
    assert "large_meeting" in refused.value.message_dict
    assert not Event.objects.exists()


def test_the_room_entry_carries_the_choice_and_the_room_goes_through_the_sfu(settings):
    settings.JANUS_URLS = JANUS
    settings.TESSERA_ROOM = {**getattr(settings, "TESSERA_ROOM", {}), "topology": "mesh"}
    large, small = meeting_create(large_meeting=True), meeting_create()
    entries = [room_entry(room_id=m.room_id, kind="invitee", token=m.tokens[0]) for m in (large, small)]
    assert [e.large for e in entries] == [True, False]
    organiser = room_entry(room_id=large.room_id, kind="organiser", token=large.manage_token)
    assert organiser.large is True
    rooms = [
        Room(room_id=m.room_id, event_id=e.event_id, large=e.large) for m, e in zip((large, small), entries)
    ]
    assert [sfu.topology(r) for r in rooms] == ["sfu", "mesh"]
    settings.JANUS_URLS = []  # the Janus went from the settings: every room is a mesh again
    assert [sfu.topology(r) for r in rooms] == ["mesh", "mesh"]


def test_the_api_creates_and_shows_a_large_meeting_and_refuses_it_without_a_media_server(
    settings, client, acme_key
):
    from tessera.meetings.models import Event

    settings.JANUS_URLS = []
    refused = call(client, "post", "/events", acme_key, payload(large_meeting=True))
    assert refused.status_code == 400 and "large_meeting" in refused.content.decode()
    assert not Event.objects.exists()
    settings.JANUS_URLS = JANUS
    created = call(client, "post", "/events", acme_key, payload(large_meeting=True))
    assert created.status_code == 201 and created.json()["large_meeting"] is True
    shown = call(client, "get", f"/events/{created.json()['id']}", acme_key).json()
    assert shown["large_meeting"] is True and Event.objects.get().large_meeting is True
