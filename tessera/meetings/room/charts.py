"""Quality charts of a session for the organiser's management page: SVG geometry computed here.

The template draws it with presentation attributes and classes only (the CSP forbids style attributes).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from tessera.meetings.models import Invitation, MeetingSession

from .selectors import quality_series, quality_series_of

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 28
# Okabe-Ito: distinguishable for the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

METRICS = [
    ("bitrate_in_kbps", _("Bitrate in"), "kbit/s"),
    ("bitrate_out_kbps", _("Bitrate out"), "kbit/s"),
    ("rtt_ms", _("Round-trip time"), "ms"),
    ("jitter_ms", _("Jitter"), "ms"),
    ("loss_pct", _("Packet loss"), "%"),
    ("fps", _("Frame rate"), "fps"),
]


@dataclass
class Line:
    label: str
    colour: str
    index: int
    points: str  # "x,y x,y …" for <polyline points=…>
    count: int
    marker: tuple | None = None  # (x, y) when a single point would draw no line


@dataclass
class Chart:
    key: str
    title: str
    unit: str
    top: float
    lines: list = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_x: int = WIDTH - RIGHT
    top_y: int = TOP
    mid_y: float = TOP + (HEIGHT - TOP - BOTTOM) / 2
    base_y: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - 8

    @property
    def half(self) -> float:
        return self.top / 2


@dataclass
class SessionQuality:
    charts: list
    rows: list  # (time, participant label, sample) for the data table
    participants: list  # (label, colour)
    start: object = None
    end: object = None


def _nice_top(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above the largest value, so that axis labels stay round."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def _labels(session: MeetingSession) -> dict:
    labels, guests = {}, 0
    for participant in session.participants.all():
        invitation = participant.invitation
        if invitation is None:
            labels[participant.pk] = str(_("Organiser"))
        elif invitation.kind == Invitation.Kind.GUEST:
            guests += 1
            labels[participant.pk] = str(_("Guest %(number)s") % {"number": guests})
        else:
            labels[participant.pk] = invitation.email
    return labels


def sessions_quality(*, sessions) -> dict[int, SessionQuality | None]:
    """`session_quality` of each session, reading the samples of all of them in one query."""
    series = quality_series_of(sessions=sessions)
    return {
        session.pk: session_quality(session=session, series=series.get(session.pk, {}))
        for session in sessions
    }


def session_quality(*, session: MeetingSession, series: dict | None = None) -> SessionQuality | None:
    """Charts of every metric, one line per participant over time; None when no figures were sent."""
    series = quality_series(session=session) if series is None else series
    if not series:
        return None
    labels = _labels(session)
    samples = [sample for rows in series.values() for sample in rows]
    start = min(s.created_at for s in samples)
    end = max(s.created_at for s in samples)
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    people = [(pid, labels.get(pid, f"#{n + 1}"), PALETTE[n % len(PALETTE)]) for n, pid in enumerate(series)]
    charts = []
    for key, title, unit in METRICS:
        values = [getattr(s, key) for s in samples if getattr(s, key) is not None]
        chart = Chart(key=key, title=str(title), unit=unit, top=_nice_top(max(values, default=0)))
        for n, (pid, label, colour) in enumerate(people):
            coordinates = [
                (
                    round(LEFT + (s.created_at - start).total_seconds() / span * plot_w, 1),
                    round(TOP + plot_h - getattr(s, key) / chart.top * plot_h, 1),
                )
                for s in series[pid]
                if getattr(s, key) is not None
            ]
            if not coordinates:
                continue
            chart.lines.append(
                Line(
                    label=label,
                    colour=colour,
                    index=n % len(PALETTE),
                    points=" ".join(f"{x:g},{y:g}" for x, y in coordinates),
                    count=len(coordinates),
                    marker=coordinates[0] if len(coordinates) == 1 else None,
                )
            )
        charts.append(chart)
    rows = sorted(
        ((s.created_at, labels.get(pid, ""), s) for pid, rows in series.items() for s in rows),
        key=lambda row: row[0],
    )
    return SessionQuality(
        charts=charts,
        rows=rows,
        participants=[(label, colour) for _pid, label, colour in people],
        start=start,
        end=end,
    )
