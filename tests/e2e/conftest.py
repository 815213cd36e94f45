"""Fixtures of the browser tests of the live room."""

import pytest

from tests.room.conftest import meeting_create


@pytest.fixture
def meeting(server, settings):
    """A meeting open now, with four invitations, a guest link and the organiser's token."""
    from tessera.meetings.room import live

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    live.reset()
    yield meeting_create()
    live.reset()


@pytest.fixture
def contexts(browser, server):
    """Browser contexts a test opens, closed after it (before the server waits for its last writes)."""
    opened = []
    yield opened
    for context in opened:
        context.close()
