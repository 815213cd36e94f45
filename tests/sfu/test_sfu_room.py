"""A room that goes through Janus, in real Chromium pages with fake devices (decision 0011).

The pages open the product's room as in the mesh tests; the welcome says "sfu", so each page publishes
once to Janus and receives the others through one subscription, its offers, answers and candidates
relayed by Tessera's signaling. Keys still go page to page: a wrong room secret decodes nothing.
"""

import pytest

from tessera.meetings.room.models import SfuPlacement
from tests.e2e.room_helpers import assert_stays, inbound, open_room, wait_until
from tests.room.conftest import meeting_create

from .conftest import three_pages_in_a_room

# Four: six pages on two cores passed alone but not after the rest of the suite (decision 0011).
PEOPLE = ["Ana", "Ben", "Chloé", "Dan"]


@pytest.fixture
def sfu_meeting(janus_rooms):
    janus_rooms("sfu")
    return meeting_create(invitees=len(PEOPLE) + 1)


def streams(page) -> list[int]:
    """Frames decoded per received video stream, over every connection of the page."""
    return [frames for pc in inbound(page) for frames in pc["videos"]]


def decoding_anew(page, old: set = frozenset()) -> int:
    """Streams decoding on the page's open connections, leaving out those whose index is in `old`."""
    return sum(1 for pc in inbound(page) if pc["pc"] not in old for frames in pc["videos"] if frames > 0)


def decoding(page, count: int) -> bool:
    return decoding_anew(page) >= count


def hearing(page, count: int) -> bool:
    return sum(1 for energy in (e for pc in inbound(page) for e in pc["audios"]) if energy > 0) >= count


def rising(before: list[int], after: list[int]) -> int:
    return sum(1 for b, a in zip(before, after, strict=False) if a > b)


def epoch(page) -> str:
    return page.get_attribute("#e2ee-badge", "data-epoch")


def test_four_people_through_janus_see_and_hear_each_other_and_a_wrong_secret_decodes_nothing(
    sfu_meeting, janus, browser, server, contexts
):
    meeting = sfu_meeting
    pages = []
    for i, name in enumerate(PEOPLE):
        # One at a time, as people arrive: six pages starting their cameras at once only measure the CPU.
        pages.append(open_room(browser, server, meeting.link(i), contexts, name=name))
        pages[-1].wait_for_selector("#room-app[data-state=in-room]", timeout=30_000)
    others = len(PEOPLE) - 1
    for page in pages:
        wait_until(lambda p=page: decoding(p, others), timeout=90, message="video from every other one")
        wait_until(lambda p=page: hearing(p, others), timeout=30, message="the voice of every other one")
        # Through the SFU: one connection publishes and one receives, whatever the room's size.
        assert len(inbound(page)) == 2, inbound(page)
    before = [streams(p) for p in pages]
    wait_until(
        lambda: all(rising(b, streams(p)) >= others for b, p in zip(before, pages, strict=True)),
        timeout=30,
        message="everyone keeps decoding every other one",
    )
    placement = SfuPlacement.objects.get(room_id=meeting.room_id)
    assert placement.janus_url == janus.url and placement.participants == len(PEOPLE)

    # Leaving rotates the key as in the mesh; the ones who stay keep decoding each other.
    epochs = [epoch(p) for p in pages[:-1]]
    pages[-1].click("#leave-button")
    for page, was in zip(pages[:-1], epochs, strict=True):
        page.wait_for_function(
            f"() => document.getElementById('e2ee-badge').dataset.epoch !== '{was}'",
            timeout=30_000,
            polling=250,  # a timer, not animation frames, which a page starved of CPU gets few of
        )
    before = [streams(p) for p in pages[:-1]]
    wait_until(
        lambda: all(rising(b, streams(p)) >= others - 1 for b, p in zip(before, pages[:-1], strict=True)),
        timeout=30,
        message="the ones who stay keep decoding each other after the rotation",
    )

    # Someone with the link but a wrong room secret gets the ciphertext through Janus and decodes none of it
    # (after the departure: seven pages on two cores would only measure the CPU).
    wrong_secret = ("B" if meeting.room_secret[0] != "B" else "C") + meeting.room_secret[1:]
    intruder = open_room(
        browser,
        server,
        f"/room/{meeting.room_id}#{meeting.tokens[len(PEOPLE)]}.{wrong_secret}",
        contexts,
        name="Eve",
    )
    intruder.wait_for_selector("#room-app[data-state=in-room]", timeout=30_000)
    wait_until(
        lambda: (
            len(streams(intruder)) >= others - 1 and sum(pc["bytes"] for pc in inbound(intruder)) > 200_000
        ),
        timeout=40,
        message="the intruder receives the others' streams",
    )
    assert_stays(lambda: not any(streams(intruder)), 2.0, message="the intruder decodes nothing")


def _width(page, name: str) -> int:
    """The decoded width of the named participant's camera in this page's tile (0: no frame yet)."""
    return page.evaluate(
        """(name) => {
          const tile = [...document.querySelectorAll('#stage .tile:not(.local)')]
            .find((t) => t.dataset.kind === 'camera' && t.textContent.includes(name));
          return tile ? tile.querySelector('video').videoWidth : 0;
        }""",
        name,
    )


def _pin(page, name: str) -> None:
    tile = page.locator("#stage .tile:not(.local)", has_text=name)
    tile.hover()
    tile.locator("[data-act=pin]").click()


def test_a_thumbnail_gets_the_low_layer_and_pinning_it_raises_it(sfu_meeting, browser, server, contexts):
    pages = three_pages_in_a_room(browser, server, sfu_meeting, contexts, PEOPLE)
    ana = pages[0]
    # Ben in the featured slot: Chloé's tile goes to the filmstrip, a thumbnail, and gets the low layer.
    _pin(ana, "Ben")
    low = wait_until(
        lambda: 0 < _width(ana, "Chloé") <= 320 and _width(ana, "Chloé"), timeout=30, message="low"
    )
    wait_until(lambda: _width(ana, "Ben") >= 2 * low, timeout=30, message="Ben's featured tile in high")
    # Pinning Chloé instead raises her layer, and Ben, now a thumbnail, drops to the low one.
    _pin(ana, "Chloé")
    wait_until(lambda: _width(ana, "Chloé") >= 2 * low, timeout=30, message="Chloé raised once pinned")
    wait_until(lambda: 0 < _width(ana, "Ben") <= 320, timeout=30, message="Ben lowered as a thumbnail")
    # Ben and Chloé, who pinned nobody, keep receiving the others' cameras through the same Janus.
    for page in pages[1:]:
        wait_until(lambda p=page: decoding(p, 2), timeout=30, message="the others keep decoding")


def _screen_frames(page) -> int:
    return page.evaluate(
        """(() => { const v = document.querySelector('#stage .tile[data-kind=screen]:not(.local) video');
          return v ? v.getVideoPlaybackQuality().totalVideoFrames : 0; })()"""
    )


def test_a_shared_screen_goes_through_janus_as_its_own_sharp_stream(sfu_meeting, browser, server, contexts):
    ana, ben, chloe = three_pages_in_a_room(browser, server, sfu_meeting, contexts, PEOPLE)
    ana.click("#screen-button")
    for page in (ben, chloe):
        # Its own tile, in the presenter layout, decoding through the receiving connection it already had.
        page.wait_for_selector("#stage .tile[data-kind=screen]:not(.local)", timeout=20_000)
        assert "Ana" in page.locator("#stage .tile[data-kind=screen]:not(.local)").text_content()
        assert page.locator("#stage.presenter").count() == 1
        wait_until(lambda p=page: _screen_frames(p) > 10, timeout=30, message="screen frames decoded")
        assert len(inbound(page)) == 2
        # The camera of the one who shares keeps its tile and its frames.
        camera = page.locator("#stage .tile[data-kind=camera]:not(.local)", has_text="Ana")
        assert camera.count() == 1
    # One layer, as sharp as the screen: no simulcast thumbnail of it.
    wait_until(
        lambda: (
            ben.evaluate(
                "document.querySelector('#stage .tile[data-kind=screen]:not(.local) video').videoWidth"
            )
            > 320
        ),
        timeout=20,
        message="the screen at its full width",
    )
    ana.click("#screen-button")  # stops sharing
    for page in (ben, chloe):
        page.wait_for_selector("#stage .tile[data-kind=screen]", state="detached", timeout=15_000)
    before = [streams(p) for p in (ben, chloe)]
    wait_until(
        lambda: all(rising(b, streams(p)) >= 2 for b, p in zip(before, (ben, chloe), strict=True)),
        timeout=30,
        message="the cameras keep flowing after the share",
    )


SENDS_VIDEO = """() => window.__pcs.some((pc) => pc.connectionState !== 'closed' && pc.localDescription &&
  pc.localDescription.sdp.split('\\r\\nm=').slice(1).some((section) =>
    section.startsWith('video') && /a=(sendonly|sendrecv)/.test(section)))"""


def test_an_audio_only_participant_publishes_no_video_and_is_heard(sfu_meeting, browser, server, contexts):
    meeting = sfu_meeting
    ana = open_room(browser, server, meeting.link(0), contexts, name="Ana")
    chloe = open_room(browser, server, meeting.link(1), contexts, name="Chloé", join=False)
    chloe.uncheck("#join-camera")
    chloe.click("#join-button")
    for page in (ana, chloe):
        page.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    wait_until(lambda: decoding(chloe, 1), timeout=60, message="Chloé sees Ana")
    wait_until(lambda: sum(pc["audio"] for pc in inbound(ana)) > 0, timeout=30, message="Ana hears Chloé")
    # Chloé's publisher offers audio only, and Ana's subscription carries no video of hers.
    assert chloe.evaluate(SENDS_VIDEO) is False
    assert ana.evaluate(SENDS_VIDEO) is True
    assert streams(ana) == [] and len(streams(chloe)) == 1
    tile = ana.locator("#stage .tile[data-kind=camera]:not(.local)", has_text="Chloé")
    assert "no-video" in tile.get_attribute("class")
