"""The channel layer the live room fans out through.

With Redis (REDIS_URL) the room uses the project's layer. In the embedded single-process setup the
project's layer is Channels' `InMemoryChannelLayer`, whose every `receive` and `group_send` walks every
channel and every group to expire old messages: work proportional to the connections for each message,
which kept a core busy at 2,000 participants (bench/signaling_load.py). The room then uses
`EmbeddedChannelLayer`, the same layer with that sweep done at most once a second.

A deployment may name its own layer for the room under `CHANNEL_LAYERS["tessera.room"]`.
"""

import time

from channels.exceptions import ChannelFull
from channels.layers import DEFAULT_CHANNEL_LAYER, InMemoryChannelLayer, channel_layers

ALIAS = "tessera.room"


class EmbeddedChannelLayer(InMemoryChannelLayer):
    sweep_seconds = 1.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._swept = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._swept < self.sweep_seconds:
            return
        self._swept = now
        super()._clean_expired()

    async def group_send(self, group, message):
        # In member order, without a task per member: `send` never waits.
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:
                pass


def room_layer():
    """The room's layer, registered on first use (and again after tests change CHANNEL_LAYERS)."""
    layer = channel_layers.backends.get(ALIAS)
    if layer is not None:
        return layer
    if ALIAS in channel_layers:
        return channel_layers[ALIAS]
    default = channel_layers[DEFAULT_CHANNEL_LAYER]
    if type(default) is InMemoryChannelLayer:
        layer = EmbeddedChannelLayer(
            expiry=default.expiry, group_expiry=default.group_expiry, capacity=default.capacity
        )
    else:
        layer = default
    channel_layers.set(ALIAS, layer)
    return layer
