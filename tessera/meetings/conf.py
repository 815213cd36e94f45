"""Meetings settings: defaults here, overridable per deployment with settings.TESSERA_MEETINGS."""

from django.conf import settings

DEFAULTS = {
    "max_invitees": 200,
    "join_early_minutes": 15,  # joining opens this long before the start
    "reminder_minutes": 15,
    "ended_grace_minutes": 30,  # after the end, links still open the room this long
    "event_retention_days": 30,  # the event and its invitations: end + 30 days
    "session_retention_days": 7,  # live-session data: 7 days after the session was created
    "max_duration_minutes": 24 * 60,
    # "Start a meeting now": how long the room stays open, and how long after its last use it is kept.
    "instant_duration_minutes": 120,
    "instant_retention_days": 7,
    "max_days_ahead": 2 * 365,
    # Rate limits: (requests, seconds)
    "create_per_ip": (20, 3600),
    "create_per_organiser": (10, 3600),
    "instant_per_ip": (20, 3600),
    "link_checks_per_ip": (120, 60),
    "manage_per_ip": (120, 60),
    "api_per_organisation": (600, 3600),
    # Invitees an organisation may add per rolling 24 hours, through the API or its members' forms.
    "org_invitations_per_day": 1000,
    # The marketing consent text shown on the form; bump the version whenever the wording changes.
    "marketing_consent_version": "meetings-marketing-2026-01",
}


def sfu_available() -> bool:
    """Whether this deployment names a Janus (JANUS_URLS): only then can a room go through the SFU."""
    return bool(getattr(settings, "JANUS_URLS", []))


def meetings_setting(name: str):
    return {**DEFAULTS, **getattr(settings, "TESSERA_MEETINGS", {})}[name]
