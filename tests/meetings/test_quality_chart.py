"""The organiser's management page charts each session's quality figures, one line per participant."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tessera.meetings.room import services as room_services
from tessera.meetings.room.models import QualitySample

from .test_invitations import manage_post

pytestmark = pytest.mark.django_db

METRICS = ["bitrate_in_kbps", "bitrate_out_kbps", "rtt_ms", "jitter_ms", "loss_pct", "fps"]


def figures(step: int, **overrides) -> dict:
    return {
        "bitrate_in_kbps": 300 + step,
        "bitrate_out_kbps": 280 + step,
        "rtt_ms": 3.5,
        "jitter_ms": 1.0,
        "loss_pct": 0.5 * step,
        "width": 640,
        "height": 480,
        "fps": 24,
        "peers": 1,
        **overrides,
    }


@pytest.fixture
def recorded_session(scheduled):
    """A session with two invitees: Ana sends 4 windows of figures, Ben 3 (the first without RTT)."""
    event = scheduled.event
    ana, ben = event.invitations.get(email="ana@example.com"), event.invitations.get(email="ben@example.com")
    start = event.starts_at
    with time_machine.travel(start, tick=False):
        session_id = room_services.live_session_open(event_id=event.pk)
        ana_id = room_services.participant_join(session_id=session_id, invitation_id=ana.pk)
        ben_id = room_services.participant_join(session_id=session_id, invitation_id=ben.pk)
    for step in range(4):
        with time_machine.travel(start + timedelta(seconds=10 * (step + 1)), tick=False):
            room_services.quality_sample_record(
                session_id=session_id, participant_id=ana_id, figures=figures(step)
            )
            if step:
                extra = {"rtt_ms": None} if step == 1 else {}
                room_services.quality_sample_record(
                    session_id=session_id, participant_id=ben_id, figures=figures(step, **extra)
                )
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        room_services.live_session_close(session_id=session_id)
    return scheduled


def svg_of(html: str, metric: str) -> str:
    match = re.search(rf'<svg class="quality-svg"[^>]*data-metric="{metric}".*?</svg>', html, re.S)
    assert match, f"no chart for {metric}"
    return match.group(0)


def test_each_metric_is_a_chart_with_one_line_per_participant(client, recorded_session):
    event = recorded_session.event
    key = f"{recorded_session.manage_token}.{recorded_session.room_secret}"
    with time_machine.travel(event.starts_at + timedelta(minutes=2), tick=False):
        response = manage_post(client, event, key)
    html = response.content.decode()
    assert response.status_code == 200
    for metric in METRICS:
        svg = svg_of(html, metric)
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
        lines = {
            label: points
            for points, label in re.findall(
                r'<polyline [^>]*points="([^"]+)"[^>]*data-participant="([^"]+)"', svg
            )
        }
        assert set(lines) == {"ana@example.com", "ben@example.com"}, metric
        expected_ben = 2 if metric == "rtt_ms" else 3
        assert len(lines["ana@example.com"].split()) == 4
        assert len(lines["ben@example.com"].split()) == expected_ben
        # Every point lies inside the drawing.
        for points in lines.values():
            for pair in points.split():
                x, y = (float(v) for v in pair.split(","))
                assert 0 <= x <= 640 and 0 <= y <= 200
    # Time runs left to right; a higher bitrate is drawn higher.
    ana_in = re.search(
        r'<polyline [^>]*points="([^"]+)"[^>]*data-participant="ana@example.com"',
        svg_of(html, "bitrate_in_kbps"),
    ).group(1)
    xs = [float(p.split(",")[0]) for p in ana_in.split()]
    ys = [float(p.split(",")[1]) for p in ana_in.split()]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)
    # The data table fallback lists every sample, and no style attribute breaks the strict CSP.
    table = re.search(r'<details class="quality-table">.*?</details>', html, re.S).group(0)
    assert table.count("<tr>") == 1 + 4 + 3
    assert "—" in table  # Ben's missing RTT
    assert "style=" not in re.search(r'<div class="quality".*?</details>', html, re.S).group(0)


def test_a_session_without_figures_says_so(client, scheduled):
    event = scheduled.event
    with time_machine.travel(event.starts_at, tick=False):
        session_id = room_services.live_session_open(event_id=event.pk)
        room_services.participant_join(
            session_id=session_id, invitation_id=event.invitations.get(email="ana@example.com").pk
        )
    with time_machine.travel(event.starts_at + timedelta(minutes=1), tick=False):
        room_services.live_session_close(session_id=session_id)
        html = manage_post(
            client, event, f"{scheduled.manage_token}.{scheduled.room_secret}"
        ).content.decode()
    assert 'data-testid="quality-empty"' in html
    assert "quality-svg" not in html


def _page_queries(client, scheduled) -> int:
    event = scheduled.event
    key = f"{scheduled.manage_token}.{scheduled.room_secret}"
    with (
        time_machine.travel(event.starts_at + timedelta(minutes=30), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        page = manage_post(client, event, key)
    assert page.status_code == 200 and page.content.decode().count('data-metric="rtt_ms"') >= 1
    return len(queries.captured_queries)


def test_the_management_page_reads_every_session_quality_in_a_fixed_number_of_queries(
    client, recorded_session
):
    event = recorded_session.event
    one = _page_queries(client, recorded_session)
    ana = event.invitations.get(email="ana@example.com")
    for n in range(2):  # the room opened twice more, with figures each time
        with time_machine.travel(event.starts_at + timedelta(minutes=5 + 5 * n), tick=False):
            session_id = room_services.live_session_open(event_id=event.pk)
            participant = room_services.participant_join(session_id=session_id, invitation_id=ana.pk)
            room_services.quality_sample_record(
                session_id=session_id, participant_id=participant, figures=figures(1)
            )
            room_services.live_session_close(session_id=session_id)
    assert _page_queries(client, recorded_session) == one


def test_a_batch_of_samples_skips_one_whose_participant_is_gone_and_keeps_the_others(scheduled):
    event = scheduled.event
    ana = event.invitations.get(email="ana@example.com")
    session_id = room_services.live_session_open(event_id=event.pk)
    participant = room_services.participant_join(session_id=session_id, invitation_id=ana.pk)
    now = timezone.now()
    batch = [
        {"session_id": session_id, "participant_id": pid, "created_at": now, **figures(1)}
        for pid in (participant, participant + 1000, participant)  # the middle one was erased meanwhile
    ]
    assert room_services.quality_samples_record(samples=batch) == 2
    assert QualitySample.objects.filter(participant_id=participant).count() == 2
