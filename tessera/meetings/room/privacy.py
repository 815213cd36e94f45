"""Processing activities of the live room: recording notices and quality statistics (conference data)."""

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tessera.privacy.register import Activity, LegalBasis, Retention


def _conference_data_retention(*, now) -> int:
    from .services import conference_data_expired_delete

    return conference_data_expired_delete(now=now)


activities = [
    Activity(
        name="meetings_room.conference_data",
        title=_("Recording notices and call quality of a meeting"),
        purpose=_(
            "Make sure nobody is recorded without being told and able to leave, and keep the quality of "
            "the calls (bit rates, delay, losses, resolution) to diagnose problems. No audio, video or "
            "chat content ever reaches the server."
        ),
        legal_basis=LegalBasis.CONTRACT,
        legal_basis_detail=_("Needed to provide the meeting service you use."),
        data_subjects=(_("Meeting participants"),),
        data_categories=(
            _("Who asked to record, who accepted or refused, and when"),
            _("Connection quality figures per participant"),
        ),
        fields={
            "meetings_room.RecordingNotice": ["requested_by", "created_at", "started_at", "stopped_at"],
            "meetings_room.RecordingAnswer": ["participant", "accepted", "answered_at"],
            "meetings_room.QualitySample": ["participant", "created_at", "bitrate_in_kbps", "rtt_ms"],
        },
        recipients=(_("The organiser of the meeting"), _("Authorised staff")),
        sub_processors=("hosting",),
        retention=Retention(
            description=_("7 days after the live session was created, then deleted with it."),
            period=timedelta(days=settings.TESSERA_PRIVACY.get("recording_notice_days", 7)),
            apply=_conference_data_retention,
        ),
        security_measures=(
            _("Audio, video and chat are end-to-end encrypted: the server relays ciphertext only"),
            _("Display names travel encrypted and are never stored"),
        ),
    ),
]

non_personal = {"meetings_room.RecordingNotice": ["status"]}
