"""The room's channel layer: the embedded one fans out like Channels' in-memory layer, with a cheap sweep."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from channels.layers import InMemoryChannelLayer, get_channel_layer

from tessera.meetings.room.layers import ALIAS, EmbeddedChannelLayer, room_layer


def test_the_room_uses_the_embedded_layer_when_the_project_has_the_in_memory_one(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = room_layer()
    assert isinstance(layer, EmbeddedChannelLayer)
    assert get_channel_layer(ALIAS) is layer and room_layer() is layer
    assert type(get_channel_layer()) is InMemoryChannelLayer


def test_group_send_reaches_every_member_in_order_and_expired_members_are_dropped():
    async def run():
        layer = EmbeddedChannelLayer(expiry=60)
        a, b, c = [await layer.new_channel() for _ in range(3)]
        for channel in (a, b, c):
            await layer.group_add("room.x", channel)
        await layer.group_send("room.x", {"type": "room.out", "text": "1"})
        await layer.group_send("room.x", {"type": "room.out", "text": "2"})
        for channel in (a, b, c):
            assert [(await asyncio.wait_for(layer.receive(channel), 5))["text"] for _ in range(2)] == [
                "1",
                "2",
            ]
        # A member that stops reading is dropped from its groups once its messages expire.
        layer.expiry = -1
        await layer.send(c, {"type": "room.out", "text": "late"})
        layer.expiry = 60
        layer.sweep_seconds = 0
        await layer.group_send("room.x", {"type": "room.out", "text": "3"})
        assert c not in layer.groups["room.x"]
        assert (await asyncio.wait_for(layer.receive(a), 5))["text"] == "3"

    # In a thread of its own: the browser tests of the same session leave an event loop running here.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(10)
