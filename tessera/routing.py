"""WebSocket routes; each app adds its consumers here."""

from tessera.meetings.room.routing import websocket_urlpatterns as room_websockets

websocket_urlpatterns: list = [*room_websockets]
