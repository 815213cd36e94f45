import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import time_machine
from django.apps import apps
from django.utils import timezone

from tessera.meetings import services as meetings_services
from tessera.meetings.models import MeetingSession, SessionParticipant
from tessera.meetings.room import live
from tessera.meetings.room.models import QualitySample, RecordingAnswer, RecordingNotice
from tessera.privacy.models import ConsentRecord

from .conftest import meeting_create

# What a page sends as a sealed chat message: base64url(IV | ciphertext | tag), 38 characters or more.
SEALED = "c2VhbGVkLWNoYXQtbWVzc2FnZS1mb3ItdGhlLXJvb20"


def _room_of_three(meeting, clients):
    a, b, c = (clients(meeting.room_id) for _ in range(3))
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    c.join(meeting.tokens[2])
    a.recv("peer_joined"), a.recv("peer_joined"), b.recv("peer_joined")
    return a, b, c


def test_an_invitee_enters_and_the_others_are_told(meeting, clients):
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    welcome = a.join(meeting.tokens[0], name="bmFtZS1h")
    assert welcome["peers"] == [] and welcome["role"] == "invitee" and welcome["mesh_max"] == 8
    assert welcome["ice_servers"] == []  # loopback: no STUN or TURN unless configured
    assert welcome["ice_transport_policy"] == "all"
    b.join(meeting.tokens[1])
    assert [p["pid"] for p in b.welcome["peers"]] == [a.pid]
    assert b.welcome["peers"][0]["name"] == "bmFtZS1h"
    joined = a.recv("peer_joined")
    assert joined["peer"]["pid"] == b.pid and joined["peer"]["seq"] > welcome["seq"]


def test_signals_go_to_one_peer_and_chat_ciphertext_to_all_but_is_never_stored(meeting, clients):
    a, b, c = _room_of_three(meeting, clients)
    a.send(type="signal", to=b.pid, description={"type": "offer", "sdp": "v=0 fake"})
    got = b.recv("signal")
    assert got["from"] == a.pid and got["description"]["sdp"] == "v=0 fake"
    assert c.nothing("signal")
    secret_chat = "ciphertext-ZXhhbXBsZS1jaGF0LW1lc3NhZ2U"
    a.send(type="app", payload=secret_chat)
    assert b.recv("app")["payload"] == secret_chat
    assert c.recv("app")["from"] == a.pid
    assert a.nothing("app", 0.3)
    for model in apps.get_models():
        for row in model.objects.all().values():
            assert secret_chat not in json.dumps(row, default=str)


def test_messages_before_authentication_get_a_typed_error(meeting, clients):
    a = clients(meeting.room_id)
    a.send(type="signal", to="abcdefghij", candidate={"candidate": "x"})
    error = a.recv("error")
    assert error["code"] == "not_authenticated"
    a.join(meeting.tokens[0])  # the connection is still usable


def test_malformed_messages_get_typed_errors_and_other_rooms_carry_on(meeting, clients):
    other = meeting_create()
    bystander = clients(other.room_id)
    bystander.join(other.tokens[0])
    a = clients(meeting.room_id)
    a.join(meeting.tokens[0])
    cases = [
        ("{", "bad_json"),
        ("[1, 2]", "invalid_message"),
        ('{"type": "launch_missiles"}', "invalid_message"),
        ('{"type": "signal", "to": "x"}', "invalid_message"),
        ('{"type": "app", "payload": 42}', "invalid_message"),
        ('{"type": "auth", "kind": "invite", "token": "' + meeting.tokens[1] + '"}', "already_authenticated"),
        ('{"type": "stats", "fps": "lots"}', "invalid_message"),
        (b"\x00\x01binary", "invalid_message"),
    ]
    for raw, code in cases:
        a.send_raw(raw)
        error = a.recv("error")
        assert error["code"] == code, raw
        assert "launch_missiles" not in error["message"]
    a.send(type="ping")
    assert a.recv("pong")
    bystander.send(type="ping")
    assert bystander.recv("pong")


def test_an_oversized_message_is_refused_and_closes_the_connection(meeting, clients):
    a = clients(meeting.room_id)
    a.join(meeting.tokens[0])
    a.send(type="app", payload="x" * 50_000)
    assert a.recv("error")["code"] == "too_large"
    assert a.closed_with() == 4413


def test_revoked_and_unknown_tokens_are_refused(meeting, clients):
    meetings_services.invitation_remove(event=meeting.event, invitation=meeting.invitations[3])
    for token in (meeting.tokens[3], "A" * 43):
        a = clients(meeting.room_id)
        error = a.auth(token)
        assert error == {"type": "error", "code": "invalid_token", "message": error["message"]}
        assert a.closed_with() == 4401
    intruder = clients(meeting.room_id)
    assert intruder.auth(meeting.tokens[0], kind="organiser")["code"] == "invalid_token"


def test_an_expired_token_is_refused(server, room_settings, clients):
    past = timezone.now() - timedelta(hours=5)
    with time_machine.travel(past, tick=False):
        ended = meeting_create(now=past)
    a = clients(ended.room_id)
    assert a.auth(ended.tokens[0])["code"] == "token_expired"
    assert a.closed_with() == 4401


def test_a_guest_waits_in_the_lobby_until_the_organiser_admits_them(meeting, clients):
    guest = clients(meeting.room_id)
    lobby = guest.auth(meeting.guest_token, name="Z3Vlc3Q")
    assert lobby["type"] == "lobby"
    guest.send(type="app", payload=SEALED)
    assert guest.recv("error")["code"] == "not_admitted"
    guest.send(type="record", action="request")
    assert guest.recv("error")["code"] == "not_admitted"
    organiser = clients(meeting.room_id)
    welcome = organiser.join(meeting.manage_token, kind="organiser")
    assert welcome["role"] == "organiser"
    assert welcome["lobby"] == [{"pid": lobby["pid"], "name": "Z3Vlc3Q"}]
    organiser.send(type="admit", pid=lobby["pid"], allow=True)
    admitted = guest.recv("welcome")
    assert admitted["pid"] == lobby["pid"] and [p["pid"] for p in admitted["peers"]] == [organiser.pid]
    assert organiser.recv("lobby_update")["waiting"] == []
    # Denied: told so, and disconnected.
    second = clients(meeting.room_id)
    pid = second.auth(meeting.guest_token)["pid"]
    assert organiser.recv("lobby_update")["waiting"][0]["pid"] == pid
    organiser.send(type="admit", pid=pid, allow=False)
    assert second.recv("denied")
    assert second.closed_with() == 4403


def test_beyond_the_mesh_size_a_participant_is_told_the_room_is_full(meeting, clients, room_settings):
    room_settings["mesh_max"] = 2
    a, b, c = (clients(meeting.room_id) for _ in range(3))
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    error = c.auth(meeting.tokens[2])
    assert error["code"] == "room_full" and "2" in error["message"]
    assert c.closed_with() == 4409


def test_a_flood_is_refused_then_closed_without_touching_other_rooms(meeting, clients, room_settings):
    room_settings.update(rate_per_second=20, rate_burst=20, flood_close_after=100)
    other = meeting_create()
    bystander = clients(other.room_id)
    bystander.join(other.tokens[0])
    a = clients(meeting.room_id)
    a.join(meeting.tokens[0])
    for _ in range(300):
        try:
            a.send(type="ping")
        except Exception:
            break
    assert a.recv("error")["code"] == "rate_limited"
    assert a.closed_with() == 4429
    bystander.send(type="ping")
    assert bystander.recv("pong")


def test_a_reconnect_resumes_the_same_participant(meeting, clients):
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    a.recv("peer_joined")
    pid, resume = b.pid, b.welcome["resume"]
    b.close()
    assert a.nothing("peer_left", 0.5)
    again = clients(meeting.room_id)
    welcome = again.join(meeting.tokens[1], resume=resume)
    assert welcome["pid"] == pid and welcome["resumed"] is True
    assert a.recv("peer_resumed")["pid"] == pid
    a.send(type="app", payload=SEALED)
    assert again.recv("app")["payload"] == SEALED
    assert SessionParticipant.objects.count() == 2
    # Someone else's resume token does not take over the participant.
    thief = clients(meeting.room_id)
    assert thief.join(meeting.tokens[2], resume=resume)["pid"] != pid


def test_a_participant_who_does_not_come_back_leaves_after_the_grace_period(meeting, clients, room_settings):
    room_settings["resume_grace_seconds"] = 1
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    b.close()
    left = a.recv("peer_left", timeout=5)
    assert left == {"type": "peer_left", "pid": b.pid, "reason": "timeout"}


def test_heartbeats_close_a_silent_connection_and_an_unauthenticated_one(meeting, clients, room_settings):
    room_settings.update(heartbeat_seconds=1, auth_timeout_seconds=1)
    silent = clients(meeting.room_id)
    silent.send(type="auth", kind="invite", token=meeting.tokens[0], name="")
    assert silent.closed_with(timeout=8) == 4408
    mute = clients(meeting.room_id)
    assert mute.closed_with(timeout=5) == 4401


def test_only_the_organiser_uses_the_controls(meeting, clients):
    a, b, _c = _room_of_three(meeting, clients)
    for message in (
        {"type": "remove", "pid": b.pid},
        {"type": "lock", "locked": True},
        {"type": "end"},
        {"type": "mute_request", "pid": b.pid},
    ):
        a.send(**message)
        assert a.recv("error")["code"] == "forbidden"


def test_the_organiser_asks_to_mute_removes_locks_and_ends(meeting, clients):
    a, b, c = _room_of_three(meeting, clients)
    organiser = clients(meeting.room_id)
    organiser.join(meeting.manage_token, kind="organiser")
    organiser.send(type="mute_request", pid=a.pid)
    assert a.recv("mute_request")["by"] == organiser.pid
    organiser.send(type="remove", pid=b.pid)
    assert b.recv("removed")
    assert b.closed_with() == 4403
    assert a.recv("peer_left") == {"type": "peer_left", "pid": b.pid, "reason": "removed"}
    # The removal revokes the invitation: the link no longer opens the room, in any process.
    back = clients(meeting.room_id)
    assert back.auth(meeting.tokens[1])["code"] == "invalid_token"
    assert back.closed_with() == 4401
    meeting.invitations[1].refresh_from_db()
    assert meeting.invitations[1].revoked_at is not None
    organiser.send(type="lock", locked=True)
    assert c.recv("locked")["locked"] is True
    late = clients(meeting.room_id)
    assert late.auth(meeting.tokens[3])["type"] == "lobby"
    organiser.send(type="end")
    for client in (a, c, late):
        assert client.recv("ended")
        assert client.closed_with() == 4410
    again = clients(meeting.room_id)
    assert again.auth(meeting.tokens[0])["code"] == "meeting_ended"
    session = MeetingSession.objects.get()
    assert session.ended_at is not None
    assert not SessionParticipant.objects.filter(left_at__isnull=True).exists()


def test_recording_starts_only_after_every_answer_and_a_refusal_leaves(meeting, clients):
    a, b, c = _room_of_three(meeting, clients)
    a.send(type="record", action="request")
    pending = a.recv("record_pending")
    assert pending["waiting"] == 2
    notice_b, notice_c = b.recv("record_notice"), c.recv("record_notice")
    assert notice_b["by"] == a.pid and notice_b["notice"] == notice_c["notice"] == pending["notice"]
    b.send(type="record_answer", notice=pending["notice"], accept=True)
    assert a.recv("record_answer") == {"type": "record_answer", "pid": b.pid, "accept": True}
    assert a.nothing("recording", 0.3)
    c.send(type="record_answer", notice=pending["notice"], accept=False)
    assert c.recv("left")["reason"] == "refused_recording"
    assert c.closed_with() == 4000
    assert b.recv("peer_left")["pid"] == c.pid
    started = b.recv("recording")
    assert started["active"] is True and started["by"] == a.pid
    assert a.recv("recording")["active"] is True
    notice = RecordingNotice.objects.get()
    assert notice.status == "recording" and notice.started_at
    assert sorted(RecordingAnswer.objects.values_list("accepted", flat=True)) == [False, True]
    ledger = ConsentRecord.objects.filter(purpose="recording_notice").order_by("given_at")
    assert [(r.email, r.answer) for r in ledger] == [
        ("person1@example.org", True),
        ("person2@example.org", False),
    ]
    # Someone joining now answers the notice before taking part in anything.
    d = clients(meeting.room_id)
    held = d.auth(meeting.tokens[3])
    assert held["type"] == "record_notice" and held["joining"] is True
    d.send(type="signal", to=a.pid, candidate={"candidate": "x"})
    assert d.recv("error")["code"] == "recording_notice_pending"
    assert a.nothing("peer_joined", 0.3)
    d.send(type="record_answer", notice=held["notice"], accept=True)
    assert d.recv("welcome")["pid"] == held["pid"]
    assert d.recv("recording")["active"] is True
    assert RecordingAnswer.objects.filter(joined_during=True).count() == 1
    a.send(type="record", action="stop")
    assert b.recv("recording")["active"] is False
    assert RecordingNotice.objects.get().status == "stopped"


def test_quality_stats_are_stored_per_session_at_most_every_few_seconds(meeting, clients):
    a = clients(meeting.room_id)
    a.join(meeting.tokens[0])
    figures = dict(
        bitrate_in_kbps=310.5,
        bitrate_out_kbps=290,
        rtt_ms=3.2,
        jitter_ms=1.1,
        loss_pct=0,
        width=320,
        height=240,
        fps=15,
        peers=1,
    )
    a.send(type="stats", **figures)
    a.send(type="stats", **figures)
    assert a.recv("error")["code"] == "rate_limited"
    # Samples are written by a batch writer, off the member's signaling path (room/samples.py).
    deadline = time.monotonic() + 5
    while not QualitySample.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    sample = QualitySample.objects.get()
    assert sample.session == MeetingSession.objects.get() and sample.width == 320 and sample.rtt_ms == 3.2


def test_session_metadata_records_joins_leaves_and_the_end(meeting, clients):
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    b.send(type="leave")
    assert a.recv("peer_left")["reason"] == "left"
    a.send(type="leave")
    deadline = time.monotonic() + 5
    while MeetingSession.objects.filter(ended_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    session = MeetingSession.objects.get()
    assert session.ended_at and session.duration.total_seconds() >= 0
    rows = list(SessionParticipant.objects.filter(session=session).order_by("joined_at"))
    assert [r.invitation_id for r in rows] == [meeting.invitations[0].pk, meeting.invitations[1].pk]
    assert all(r.left_at for r in rows)


def test_a_joiner_s_answer_to_the_recording_notice_is_theirs_in_the_data_and_the_ledger(meeting, clients):
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    a.send(type="record", action="request")
    notice = a.recv("record_pending")["notice"]
    b.send(type="record_answer", notice=notice, accept=True)
    assert a.recv("recording")["active"] is True
    # One joiner refuses and leaves, another accepts and comes in.
    refusing, accepting = clients(meeting.room_id), clients(meeting.room_id)
    assert refusing.auth(meeting.tokens[2])["type"] == "record_notice"
    refusing.send(type="record_answer", notice=notice, accept=False)
    assert refusing.recv("left")["reason"] == "refused_recording"
    assert accepting.auth(meeting.tokens[3])["type"] == "record_notice"
    accepting.send(type="record_answer", notice=notice, accept=True)
    assert accepting.recv("welcome")
    refused_by = SessionParticipant.objects.get(invitation=meeting.invitations[2])
    accepted_by = SessionParticipant.objects.get(invitation=meeting.invitations[3])
    assert refused_by.left_at is not None and accepted_by.left_at is None
    answers = {a.participant_id: a for a in RecordingAnswer.objects.filter(joined_during=True)}
    assert set(answers) == {refused_by.pk, accepted_by.pk}
    assert answers[refused_by.pk].accepted is False and answers[accepted_by.pk].accepted is True
    assert all(a.notice_id == notice for a in answers.values())
    ledger = ConsentRecord.objects.filter(purpose="recording_notice")
    assert sorted((r.email, r.answer) for r in ledger) == [
        ("person1@example.org", True),
        ("person2@example.org", False),
        ("person3@example.org", True),
    ]


def test_a_removed_invitation_stays_refused_when_the_live_state_is_gone(meeting, clients):
    a, b = clients(meeting.room_id), clients(meeting.room_id)
    organiser = clients(meeting.room_id)
    organiser.join(meeting.manage_token, kind="organiser")
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    organiser.send(type="remove", pid=b.pid)
    assert b.recv("removed")
    assert b.closed_with() == 4403
    # As after a restart, or in another process: nothing of the room is in memory.
    for client in (a, organiser):
        client.close()
    live.reset()
    back = clients(meeting.room_id)
    assert back.auth(meeting.tokens[1])["code"] == "invalid_token"
    assert back.closed_with() == 4401
    assert clients(meeting.room_id).join(meeting.tokens[0])["type"] == "welcome"


def test_an_ended_meeting_stays_ended_when_the_live_state_is_gone(meeting, clients):
    organiser, a = clients(meeting.room_id), clients(meeting.room_id)
    organiser.join(meeting.manage_token, kind="organiser")
    a.join(meeting.tokens[0])
    organiser.send(type="end")
    assert a.recv("ended")
    live.reset()  # as after a restart, or in another process
    refused = clients(meeting.room_id)
    assert refused.auth(meeting.tokens[1]).get("code") == "meeting_ended"
    assert refused.closed_with() == 4410
    # The organiser coming back opens the room again for the others.
    clients(meeting.room_id).join(meeting.manage_token, kind="organiser")
    assert clients(meeting.room_id).join(meeting.tokens[1])["type"] == "welcome"


def test_a_resumed_welcome_carries_fresh_turn_credentials(meeting, clients, room_settings):
    room_settings.update(
        turn_urls=["turn:turn.example.org:3478?transport=udp"],
        turn_secret="coturn-static-auth-secret",
        turn_ttl_seconds=3600,
    )
    with time_machine.travel(timezone.now(), tick=False) as clock:
        a = clients(meeting.room_id)
        first = a.join(meeting.tokens[0])
        (turn,) = first["ice_servers"]
        clock.shift(timedelta(minutes=10))
        a.close()
        again = clients(meeting.room_id)
        resumed = again.join(meeting.tokens[0], resume=first["resume"])
    assert resumed["resumed"] is True and resumed["pid"] == first["pid"]
    (fresh,) = resumed["ice_servers"]
    expiry = int(turn["username"].split(":")[0])
    assert int(fresh["username"].split(":")[0]) == expiry + 600
    assert expiry > time.time() + 3000
    # coturn's REST scheme: the credential is base64(HMAC-SHA1(secret, username)).
    digest = hmac.new(b"coturn-static-auth-secret", fresh["username"].encode(), hashlib.sha1).digest()
    assert fresh["credential"] == base64.b64encode(digest).decode()
    assert fresh["urls"] == ["turn:turn.example.org:3478?transport=udp"]


def test_a_page_that_says_leave_as_it_closes_leaves_at_once_and_no_error_is_logged(meeting, clients, caplog):
    """A closing tab sends "leave" and is gone before the server's own close: that is not an error."""
    import logging
    import socket

    a, b = clients(meeting.room_id), clients(meeting.room_id)
    a.join(meeting.tokens[0])
    b.join(meeting.tokens[1])
    with caplog.at_level(logging.ERROR, logger="tessera.meetings.room"):
        b.send(type="leave")
        b.ws.socket.shutdown(socket.SHUT_RDWR)  # the tab is gone: no closing handshake
        assert a.recv("peer_left")["pid"] == b.pid
        time.sleep(0.3)
    assert [r.getMessage() for r in caplog.records] == []
