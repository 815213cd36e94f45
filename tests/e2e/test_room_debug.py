from .room_helpers import inbound, open_room
from .test_room_call import meeting  # noqa: F401

SPY2 = """
(() => {
  const P = RTCPeerConnection.prototype;
  const add = P.addIceCandidate, srd = P.setRemoteDescription, sld = P.setLocalDescription, ri = P.restartIce;
  P.addIceCandidate = function (c) { const i = window.__pcs.indexOf(this); return add.call(this, c).then((r) => { console.log("DBG", i, "addcand ok", c && c.candidate && c.candidate.split(" ").slice(4,6).join(":"), this.remoteDescription && this.remoteDescription.sdp.match(/ice-ufrag:(\\S+)/)[1], c.usernameFragment); return r; }, (e) => { console.log("DBG", i, "addcand FAIL", String(e)); throw e; }); };
  P.setRemoteDescription = function (d) { console.log("DBG", window.__pcs.indexOf(this), "srd", d && d.type, this.signalingState); return srd.call(this, d); };
  P.setLocalDescription = function (d) { return sld.call(this, d).then(() => console.log("DBG", window.__pcs.indexOf(this), "sld done", this.localDescription.type, this.localDescription.sdp.match(/ice-ufrag:(\\S+)/)[1])); };
  P.restartIce = function () { console.log("DBG", window.__pcs.indexOf(this), "restartIce"); return ri.call(this); };
})();
"""

def test_debug(meeting, browser, server):
    for attempt in range(4):
        from tessera.meetings.room import live
        live.reset()
        logs = []
        pages = []
        for i in range(3):
            ctx = browser.new_context()
            p = ctx.new_page()
            from .room_helpers import PC_SPY
            p.add_init_script(PC_SPY)
            p.add_init_script(SPY2)
            p.on("console", lambda m, i=i: logs.append((i, m.type, m.text)))
            p.goto(server.url + meeting.link(i))
            p.wait_for_selector("#room-app[data-state=prejoin]")
            p.click("#join-button")
            pages.append(p)
        pages[0].wait_for_timeout(7000)
        bad = any(s["state"] != "connected" for p in pages for s in inbound(p))
        if bad:
            for p in pages:
                print(inbound(p))
            for l in logs:
                if "DBG" not in l[2] and "COUNTERS" not in l[2]:
                    print(l)
            break
        for p in pages:
            p.context.close()
    assert False
