"""Tessera's Janus client against a real Janus on loopback: authentication, keepalive, rooms, errors."""

import asyncio
import json
import secrets
import time

import pytest
import websockets

from tessera.meetings.room.janus import (
    JanusConnection,
    JanusError,
    JanusGone,
    Publisher,
    Subscriber,
    VideoRoomAdmin,
    videoroom,
)

from .conftest import SESSION_TIMEOUT, JanusServer

# A browser's offer reduced to what Janus's core checks before the plugin reads it.
AUDIO_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "",
    ]
)


def test_a_request_with_a_wrong_api_secret_is_refused(janus, aio):
    async def scenario():
        async with JanusConnection(janus.url, "not-" + janus.api_secret) as wrong:
            with pytest.raises(JanusError) as refused:
                await wrong.session()
        async with JanusConnection(janus.url, "") as none:
            with pytest.raises(JanusError) as anonymous:
                await none.session()
        async with JanusConnection(janus.url, janus.api_secret) as right:
            session = await right.session()
            await session.destroy()
        return refused.value.code, anonymous.value.code

    assert aio.run(scenario()) == (403, 403)


def test_keepalives_keep_a_session_past_the_timeout_and_without_them_janus_reaps_it(janus, aio):
    async def scenario():
        async with JanusConnection(janus.url, janus.api_secret) as connection:
            started = time.monotonic()
            kept = await connection.session(keepalive=1.0)
            silent = await connection.session(keepalive=None)
            await asyncio.wait_for(silent.gone.wait(), 5 * SESSION_TIMEOUT)
            reaped_after = time.monotonic() - started
            # Well past the timeout, the session that sent keepalives still answers and takes new handles.
            await asyncio.sleep(max(0.0, 2 * SESSION_TIMEOUT + 1 - reaped_after))
            await kept.keepalive()
            admin = await VideoRoomAdmin.attach(kept, admin_key=janus.admin_key)
            alive_after = time.monotonic() - started
            with pytest.raises(JanusGone):
                await silent.keepalive()
            # Janus itself no longer knows the silent session.
            with pytest.raises(JanusError) as unknown:
                await connection.request("keepalive", session_id=silent.id)
            await kept.destroy()
            return reaped_after, silent.gone_reason, alive_after, bool(admin.handle.id), unknown.value.code

    reaped_after, reason, alive_after, attached, code = aio.run(scenario())
    assert reaped_after >= SESSION_TIMEOUT and reason == "Janus reaped the session (no keepalive)"
    assert alive_after > 2 * SESSION_TIMEOUT and attached
    assert code == 458  # Janus's "no such session"


def test_rooms_are_created_listed_and_destroyed_with_e2ee_required(janus, aio):
    room, control, secret = (
        f"r-{secrets.token_hex(6)}",
        f"c-{secrets.token_hex(6)}",
        secrets.token_urlsafe(16),
    )

    async def scenario():
        async with JanusConnection(janus.url, janus.api_secret) as connection:
            session = await connection.session()
            admin = await VideoRoomAdmin.attach(session, admin_key=janus.admin_key)
            await admin.room_create(room=room, secret=secret, publishers=100)
            await admin.room_create(room=control, secret=secret, publishers=4, require_e2ee=False)
            listed = {r["room"]: r for r in await admin.room_list()}
            exists = await admin.room_exists(room)
            await admin.room_destroy(room=room, secret=secret)
            await admin.room_destroy(room=control, secret=secret)
            after = {r["room"] for r in await admin.room_list()}
            gone = await admin.room_exists(room)
            await session.destroy()
            return listed, exists, after, gone

    listed, exists, after, gone = aio.run(scenario())
    assert listed[room]["require_e2ee"] is True and listed[control]["require_e2ee"] is False
    assert listed[room]["max_publishers"] == 100
    assert listed[room]["videocodec"] == "vp8" and listed[room]["audiocodec"] == "opus"
    assert exists and not gone
    assert room not in after and control not in after


def test_errors_are_typed_with_janus_codes(janus, aio):
    room, secret = f"r-{secrets.token_hex(6)}", secrets.token_urlsafe(16)

    async def scenario():
        codes = {}
        async with JanusConnection(janus.url, janus.api_secret) as connection:
            session = await connection.session()
            keyless = await VideoRoomAdmin.attach(session)
            with pytest.raises(JanusError) as refused:
                await keyless.room_create(room=room, secret=secret, publishers=4)
            codes["create without the admin key"] = refused.value.code
            forged = await VideoRoomAdmin.attach(session, admin_key="not-" + janus.admin_key)
            with pytest.raises(JanusError) as forged_key:
                await forged.room_create(room=room, secret=secret, publishers=4)
            codes["create with a wrong admin key"] = forged_key.value.code
            admin = await VideoRoomAdmin.attach(session, admin_key=janus.admin_key)
            await admin.room_create(room=room, secret=secret, publishers=4)
            with pytest.raises(JanusError) as twice:
                await admin.room_create(room=room, secret=secret, publishers=4)
            codes["room exists"] = twice.value.code
            with pytest.raises(JanusError) as wrong_secret:
                await admin.room_destroy(room=room, secret="wrong")
            codes["destroy with a wrong secret"] = wrong_secret.value.code
            with pytest.raises(JanusError) as missing:
                await Publisher.join(session, room="no-such-room", participant="p1")
            codes["join a missing room"] = missing.value.code
            # A publisher whose offer does not say e2ee is refused before Janus even reads the SDP.
            publisher = await Publisher.join(session, room=room, participant="p1")
            with pytest.raises(JanusError) as clear:
                await publisher.configure(sdp=AUDIO_OFFER, e2ee=False)
            codes["clear media in an e2ee room"] = clear.value.code
            with pytest.raises(JanusError) as no_feed:
                await Subscriber.join(session, room=room, feeds=["nobody"])
            codes["subscribe to a missing feed"] = no_feed.value.code
            with pytest.raises(JanusError) as no_plugin:
                await session.attach("janus.plugin.echotest")  # disabled by deploy/janus
            codes["a disabled plugin"] = no_plugin.value.code
            await admin.room_destroy(room=room, secret=secret)
            await session.destroy()
        return codes

    assert aio.run(scenario()) == {
        "create without the admin key": videoroom.MISSING_ELEMENT,
        "create with a wrong admin key": videoroom.UNAUTHORIZED,
        "room exists": videoroom.ROOM_EXISTS,
        "destroy with a wrong secret": 433,
        "join a missing room": videoroom.NO_SUCH_ROOM,
        "clear media in an e2ee room": videoroom.UNAUTHORIZED,
        "subscribe to a missing feed": videoroom.NO_SUCH_FEED,
        "a disabled plugin": 460,  # Janus: plugin not found
    }


def test_a_dropped_websocket_tells_the_caller_its_session_is_gone(tmp_path, aio):
    janus = JanusServer(tmp_path).start()
    try:

        async def scenario():
            connection = await JanusConnection(janus.url, janus.api_secret).open()
            session = await connection.session()
            admin = await VideoRoomAdmin.attach(session, admin_key=janus.admin_key)
            janus.stop()  # Janus goes away mid-meeting
            await asyncio.wait_for(session.gone.wait(), 10)
            with pytest.raises(JanusGone):
                await admin.room_list()
            with pytest.raises(JanusGone):
                await connection.session()
            return session.gone_reason

        reason = aio.run(scenario())
        assert "dropped" in reason or "closed" in reason
    finally:
        janus.stop()


def test_a_dropped_connection_takes_its_sessions_and_a_new_one_starts_afresh(janus, aio):
    async def scenario():
        first = await JanusConnection(janus.url, janus.api_secret).open()
        session = await first.session()
        first.abort()  # the network drops the TCP connection
        await asyncio.wait_for(session.gone.wait(), 5)
        async with JanusConnection(janus.url, janus.api_secret) as second:
            # Janus destroyed the sessions of the dropped transport: the old id is unknown.
            await asyncio.sleep(0.5)
            with pytest.raises(JanusError) as unknown:
                await second.request("keepalive", session_id=session.id)
            fresh = await second.session()
            await fresh.keepalive()
            await fresh.destroy()
        return unknown.value.code

    assert aio.run(scenario()) == 458


def test_the_admin_api_answers_on_loopback_with_its_secret_only(janus, aio):
    async def ask(secret):
        async with websockets.connect(janus.admin_url, subprotocols=["janus-admin-protocol"]) as ws:
            await ws.send(json.dumps({"janus": "list_sessions", "transaction": "t", "admin_secret": secret}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    refused = aio.run(ask("wrong"))
    accepted = aio.run(ask(janus.admin_secret))
    assert refused["janus"] == "error" and refused["error"]["code"] == 403
    assert accepted["janus"] == "success"
    conf = (janus.folder / "conf" / "janus.transport.websockets.jcfg").read_text()
    assert 'admin_ws_ip = "127.0.0.1"' in conf
