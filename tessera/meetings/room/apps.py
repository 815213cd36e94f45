from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoomConfig(AppConfig):
    """The live room: signaling, live sessions, recording notices, quality statistics."""

    name = "tessera.meetings.room"
    label = "meetings_room"
    verbose_name = _("Live meetings")
