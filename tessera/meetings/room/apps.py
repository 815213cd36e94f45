from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoomConfig(AppConfig):
    """The live room: signaling, live sessions, recording notices, quality statistics."""

    name = "tessera.meetings.room"
    label = "meetings_room"
    verbose_name = _("Live meetings")

    def ready(self):
        from tessera.meetings import privacy as meetings_privacy
        from tessera.meetings import selectors as meetings_selectors
        from tessera.meetings import services as meetings_services

        from . import charts, selectors, services

        # Meetings deletes sessions (retention, erasure) after the conference data hanging off them.
        meetings_services.session_data_deleter_register(services.conference_data_delete)
        # The management page shows each session's call quality, which the room measures.
        meetings_selectors.session_quality_reader_register(charts.sessions_quality)
        # The policy lists the room's conference data among the meetings rules; the room handles it.
        meetings_privacy.conference_data_register(
            meetings_privacy.ConferenceData(
                export=selectors.conference_data_export,
                erase=services.conference_data_of_participants_delete,
                expire=services.conference_data_expired_delete,
            )
        )
