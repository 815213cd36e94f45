from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoomConfig(AppConfig):
    """The live room: signaling, live sessions, recording notices, quality statistics."""

    name = "tessera.meetings.room"
    label = "meetings_room"
    verbose_name = _("Live meetings")

    def ready(self):
        from tessera.meetings import services as meetings_services

        from . import services

        # Meetings deletes sessions (retention, erasure) after the conference data hanging off them.
        meetings_services.session_data_deleter_register(services.conference_data_delete)
