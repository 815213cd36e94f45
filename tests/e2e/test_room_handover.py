"""The meeting key handed over inside the room, and a safety code that covers the roster (decision 0010).

Links without a key (`#<token>`) are the default: the page waits until someone who holds the key is
present, who hands it over by ECDH. A server that hides a participant from one page makes that page's
safety code differ from the others'.
"""

import json

from .room_helpers import assert_stays, decoding_from_all, frames, open_room, wait_until


def keyless(meeting, index: int) -> str:
    """An invitee's link as emailed by default: the token, no key."""
    return f"/room/{meeting.room_id}#{meeting.tokens[index]}"


def code(page) -> str:
    return page.text_content("#safety-code").strip()


def roster(page) -> str:
    return page.get_attribute("#e2ee-badge", "data-roster") or ""


def test_a_keyless_link_waits_for_the_organiser_then_receives_the_key_from_a_participant(
    meeting, browser, server, contexts
):
    ana = open_room(browser, server, keyless(meeting, 0), contexts, name="Ana")
    ana.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    # Alone and without the key: the page says it waits, shows no code, and nothing can be decoded.
    ana.wait_for_selector("#key-waiting", state="visible", timeout=5000)
    assert "organis" in ana.text_content("#key-waiting").lower()
    assert code(ana) == "—" and ana.is_hidden("#key-from")
    ben = open_room(browser, server, keyless(meeting, 1), contexts, name="Ben")
    ben.wait_for_selector("#key-waiting", state="visible", timeout=10_000)
    # Two pages without the key see each other's ciphertext only, and neither can hand a key over.
    assert_stays(
        lambda: frames(ana) == 0 and frames(ben) == 0 and ana.is_visible("#key-waiting"),
        2.0,
        message="nothing decodes before a key holder comes",
    )
    assert code(ben) == "—"

    olga = open_room(browser, server, meeting.organiser_link(), contexts, name="Olga")
    for page in (ana, ben):
        page.wait_for_selector("#key-waiting", state="hidden", timeout=10_000)
        page.wait_for_selector("#key-from:not([hidden])", timeout=5000)
    # Neither held a key before Olga came. Olga handed it over, or the first of them to receive it did,
    # as soon as it led the key holders (it joined before Olga): never anyone without the key.
    handed = {ana.text_content("#key-from"), ben.text_content("#key-from")}
    assert any("Olga" in text for text in handed), handed
    assert all(any(name in text for name in ("Olga", "Ana", "Ben")) for text in handed), handed
    assert olga.is_hidden("#key-from")
    for page in (olga, ana, ben):
        wait_until(lambda p=page: roster(p) == "3", message="every page verified the three public keys")
        wait_until(lambda p=page: decoding_from_all(p, 2), message="everyone decodes everyone")
    assert code(olga) == code(ana) == code(ben) != "—"
    # Names travel sealed with the key the newcomers received: Olga reads them, and they read hers.
    olga.wait_for_selector(".tile >> text=Ana", timeout=5000)
    olga.wait_for_selector(".tile >> text=Ben", timeout=5000)
    ana.wait_for_selector(".tile >> text=Olga", timeout=5000)

    # A later newcomer gets the key from the earliest key holder, now Ana (who joined first).
    chloe = open_room(browser, server, keyless(meeting, 2), contexts, name="Chloé")
    chloe.wait_for_selector("#key-from:not([hidden])", timeout=10_000)
    assert "Ana" in chloe.text_content("#key-from")
    for page in (olga, ana, ben, chloe):
        wait_until(lambda p=page: roster(p) == "4", message="four public keys verified")
    wait_until(lambda: decoding_from_all(chloe, 3), timeout=30, message="the newcomer decodes everyone")
    assert len({code(page) for page in (olga, ana, ben, chloe)}) == 1


def test_chat_sent_before_the_key_came_is_read_once_it_is_handed_over(meeting, browser, server, contexts):
    olga = open_room(browser, server, meeting.organiser_link(), contexts, name="Olga")
    olga.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    ana = open_room(browser, server, keyless(meeting, 0), contexts, name="Ana")
    ana.wait_for_selector("#key-from:not([hidden])", timeout=10_000)
    wait_until(lambda: code(ana) == code(olga) and roster(olga) == "2", message="codes agree")
    olga.click("#chat-toggle")
    olga.fill("#chat-input", "agenda first")
    olga.press("#chat-input", "Enter")
    ana.wait_for_function("() => document.getElementById('chat-log').textContent.includes('agenda first')")


def hide_from(monkeypatch, meeting, *, hidden: int, victim: int) -> None:
    """Make the in-process server hide one participant from one page, as a malicious operator could.

    Every message the victim's connection would receive about the hidden participant is dropped: its
    arrival, its signaling and key exchange, its departure, and its entry in a welcome's list.
    """
    from tessera.meetings.room import consumers, live

    hidden_id, victim_id = meeting.invitations[hidden].pk, meeting.invitations[victim].pk
    original = consumers.RoomConsumer.room_out

    async def room_out(self, event):
        room = live.rooms.get(meeting.room_id)
        member = self.member
        if room is not None and member is not None and member.invitation_id == victim_id:
            pids = {m.pid for m in room.members.values() if m.invitation_id == hidden_id}
            message = json.loads(event["text"])
            about = {message.get("from"), message.get("pid"), (message.get("peer") or {}).get("pid")}
            if about & pids:
                return
            if message.get("type") == "welcome":
                message["peers"] = [p for p in message["peers"] if p["pid"] not in pids]
                event = {**event, "text": json.dumps(message)}
        await original(self, event)

    monkeypatch.setattr(consumers.RoomConsumer, "room_out", room_out)


def test_a_participant_the_server_hides_from_one_page_gives_that_page_another_code(
    meeting, browser, server, contexts, monkeypatch
):
    olga = open_room(browser, server, meeting.organiser_link(), contexts, name="Olga")
    olga.wait_for_selector("#room-app[data-state=in-room]", timeout=10_000)
    ana = open_room(browser, server, keyless(meeting, 0), contexts, name="Ana")
    ana.wait_for_selector("#key-from:not([hidden])", timeout=10_000)
    wait_until(lambda: roster(olga) == "2" and roster(ana) == "2", message="both verified each other")
    wait_until(lambda: code(olga) == code(ana), message="an honest server: the same code")
    honest = code(ana)

    # From now on the server keeps Hugo out of Ana's sight; Olga, the key holder, hands him the key.
    hide_from(monkeypatch, meeting, hidden=2, victim=0)
    hugo = open_room(browser, server, keyless(meeting, 2), contexts, name="Hugo")
    hugo.wait_for_selector("#key-from:not([hidden])", timeout=10_000)
    assert "Olga" in hugo.text_content("#key-from")
    wait_until(lambda: roster(olga) == "3", message="Olga verified Ana and Hugo")
    wait_until(lambda: decoding_from_all(olga, 2), message="Olga decodes Ana and Hugo")
    # Ana never saw Hugo, and so never greeted him: both of their codes cover two public keys, Olga's three.
    assert_stays(
        lambda: roster(ana) == "2" and roster(hugo) == "2", 1.0, message="the deceived pages' rosters"
    )
    assert "Hugo" not in ana.text_content("#stage")
    assert code(ana) == honest
    # Comparing aloud reveals it: the deceived pages disagree with the honest one, and with each other.
    assert len({code(olga), code(ana), code(hugo)}) == 3


# In a room page (no link fragment: the room itself does not start), three E2EE modules of the product
# talk through a relay that plays a malicious server: it can deliver, drop or forge any message. L and A
# hold the key (L leads: it joined first); the server then tries to obtain the key through L.
FORGERY_SETUP = """async ({ secret, roomId }) => {
  const base = "/static/tessera/js/room/";
  const { E2EE } = await import(base + "e2ee.js");
  const { roomKeys, ecdhKeyPair, unwrapRoom } = await import(base + "keys.js");
  const keys = await roomKeys(secret, roomId);
  const parties = {};
  const codes = {};
  const toServer = [];
  const relay = (from) => (m) => {
    if (m.to && !parties[m.to]) toServer.push({ from, ...m });
    for (const [pid, party] of Object.entries(parties)) {
      if (pid !== from && (!m.to || m.to === pid)) setTimeout(() => party.receive(from, m.payload));
    }
  };
  for (const pid of ["l", "a"]) {
    parties[pid] = new E2EE({ roomId, secret, keys, send: relay(pid) });
    parties[pid].addEventListener("key", ({ detail }) => (codes[pid] = detail.code));
  }
  await parties.l.start({ pid: "l", seq: 1 }, []);
  await parties.a.start({ pid: "a", seq: 2 }, [{ pid: "l", seq: 1 }]);
  await parties.l.peerJoined({ pid: "a", seq: 2 });
  const server = await ecdhKeyPair();
  const handovers = () => toServer.filter((m) => JSON.parse(m.payload).k === "room");
  window.__forgery = {
    codes: () => ({ ...codes }),
    handovers: () => handovers().length,
    // A request for the key in the name of A, who already proved it holds the key.
    forgeRequestAsA: () => parties.l.receive("a", JSON.stringify({ k: "hello", pub: server.publicKey })),
    // A participant of the server's own, shown to L only.
    fabricate: async () => {
      await parties.l.peerJoined({ pid: "f", seq: 3 });
      await parties.l.receive("f", JSON.stringify({ k: "hello", pub: server.publicKey }));
    },
    opened: async () => {
      const m = handovers().at(-1);
      const wrapped = JSON.parse(m.payload);
      const room = await unwrapRoom({
        privateKey: server.privateKey, theirPublicKey: parties.l.pair.publicKey, roomId, from: "l", to: m.to,
        iv: wrapped.iv, ct: wrapped.ct,
      });
      return room && room.secret === secret;
    },
    remove: () => parties.l.peerLeft("f"),
    epochs: () => ({ l: parties.l.epoch, a: parties.a.epoch }),
  };
}"""


def test_the_server_cannot_obtain_the_key_without_changing_the_handing_page_code(meeting, browser, server):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.url}/room/{meeting.room_id}")
        page.evaluate(FORGERY_SETUP, {"secret": meeting.room_secret, "roomId": meeting.room_id})
        forgery = lambda name: page.evaluate(f"window.__forgery.{name}()")  # noqa: E731
        wait_until(
            lambda: (c := forgery("codes")) and c.get("l") and c.get("l") == c.get("a"), message="codes"
        )
        honest = forgery("codes")["l"]
        # A forged request in the name of a verified participant is ignored: no hand-over leaves.
        forgery("forgeRequestAsA")
        assert_stays(lambda: forgery("handovers") == 0, 1.0, message="no hand-over to a forged request")
        assert forgery("codes") == {"l": honest, "a": honest}
        # A participant the server makes up and shows to L only does get the key (L cannot tell it from a
        # newcomer the server admitted)...
        forgery("fabricate")
        wait_until(lambda: forgery("handovers") == 1, timeout=5, message="the hand-over")
        assert forgery("opened") is True
        # ...but not silently: L's code now covers that participant's public key, A's does not.
        wait_until(lambda: forgery("codes")["l"] != honest, timeout=5, message="L's code changed")
        assert forgery("codes")["a"] == honest
        # When it leaves, L rotates the media key: A and L agree again, on a key the server lacks.
        forgery("remove")
        wait_until(lambda: forgery("epochs") == {"l": 1, "a": 1}, timeout=5, message="rotation")
        wait_until(lambda: (c := forgery("codes"))["l"] == c["a"] != honest, timeout=5, message="agreement")
    finally:
        context.close()
