import pytest
from .room_helpers import inbound, open_room
from .test_room_call import meeting  # noqa: F401


def test_debug(meeting, browser, server):
    logs = []
    pages = []
    for i in range(2):
        p = open_room(browser, server, meeting.link(i), name=f"P{i}", join=False)
        p.on("console", lambda m, i=i: logs.append((i, m.type, m.text)))
        p.on("worker", lambda w, i=i: w.on("console", lambda m: logs.append((i, "w", m.text))) if hasattr(w, "on") else None)
        p.on("pageerror", lambda e, i=i: logs.append((i, "pageerror", str(e))))
        p.click("#join-button")
        pages.append(p)
    pages[0].wait_for_timeout(6000)
    for p in pages:
        print(p.get_attribute("#room-app", "data-state"), inbound(p), p.evaluate("typeof RTCRtpScriptTransform"))
        print(p.evaluate("window.__pcs.map(pc => [pc.connectionState, pc.signalingState, pc.getTransceivers().map(t => [t.mid, t.currentDirection, t.sender.track && t.sender.track.kind, !!t.sender.transform, !!t.receiver.transform])])"))
        print(p.evaluate("(async () => { const out=[]; for (const pc of window.__pcs) { (await pc.getStats()).forEach(r => { if (r.type==='inbound-rtp') out.push([r.kind, r.packetsReceived, r.bytesReceived, r.framesDecoded, r.framesReceived, r.codecId]); }); } return out; })()"))
    for l in [x for x in logs if "COUNTERS {}" not in x[2]][-30:]:
        print(l)
    assert False
