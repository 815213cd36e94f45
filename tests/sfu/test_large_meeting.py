"""A large meeting goes through Janus from its first participant, on a deployment whose rooms are meshes."""

import pytest

from tessera.meetings.room.models import SfuPlacement
from tests.e2e.room_helpers import inbound, open_room, wait_until
from tests.room.conftest import meeting_create


@pytest.fixture
def janus_named(janus_rooms):
    janus_rooms("mesh")


def video_decoded(page) -> int:
    return sum(1 for pc in inbound(page) for frames in pc["videos"] if frames > 0)


def test_a_large_meeting_goes_through_janus_and_a_small_one_stays_a_mesh(
    janus_named, janus, browser, server, contexts
):
    large = meeting_create(invitees=2, large_meeting=True)
    pages = [
        open_room(browser, server, large.link(i), contexts, name=n) for i, n in enumerate(["Ana", "Ben"])
    ]
    for page in pages:
        page.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
        wait_until(lambda p=page: video_decoded(p) >= 1, timeout=60, message="the other one's video")
        # One connection publishes to Janus and one receives from it: the SFU's shape, not the mesh's.
        assert len(inbound(page)) == 2, inbound(page)
    placement = SfuPlacement.objects.get(room_id=large.room_id)
    assert placement.janus_url == janus.url and placement.participants == 2

    small = meeting_create(invitees=2)
    mesh = [
        open_room(browser, server, small.link(i), contexts, name=n) for i, n in enumerate(["Cleo", "Dan"])
    ]
    for page in mesh:
        page.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
        wait_until(lambda p=page: video_decoded(p) >= 1, timeout=60, message="the other one's video")
        assert len(inbound(page)) == 1, inbound(page)
    assert not SfuPlacement.objects.filter(room_id=small.room_id).exists()
