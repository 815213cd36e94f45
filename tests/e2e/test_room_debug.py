from .room_helpers import inbound, open_room
from .test_room_call import meeting  # noqa: F401


def test_debug(meeting, browser, server):
    logs = []
    pages = []
    for i in range(3):
        p = open_room(browser, server, meeting.link(i), name=f"P{i}", join=False)
        p.on("console", lambda m, i=i: logs.append((i, m.type, m.text)))
        p.on("pageerror", lambda e, i=i: logs.append((i, "pageerror", str(e))))
        p.click("#join-button")
        pages.append(p)
    pages[0].wait_for_timeout(8000)
    for p in pages:
        print(p.get_attribute("#room-app", "data-state"), inbound(p))
        print(p.evaluate("window.__pcs.map(pc => [pc.connectionState, pc.iceConnectionState, pc.signalingState, pc.getTransceivers().map(t => [t.mid, t.currentDirection])])"))
    for l in [x for x in logs if "CAND" in x[2] or "warn" in x[1] or "error" in x[1]][-20:]:
        print(l)
    assert False
