"""Small bar charts drawn on the server as SVG: no script, no third party, readable without colour."""

from django.utils.formats import date_format

WIDTH, HEIGHT, PAD = 600, 160, 24


def bar_chart(series: list[dict], key: str) -> dict:
    """Geometry for templates/cards/includes/chart.html; the template only places rectangles."""
    peak = max((row[key] for row in series), default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(series), 1)
    bars = []
    for index, row in enumerate(series):
        height = round((HEIGHT - 2 * PAD) * row[key] / peak, 1)
        bars.append(
            {
                "x": round(PAD + index * step + 1, 1),
                "y": round(HEIGHT - PAD - height, 1),
                "width": round(max(step - 2, 1), 1),
                "height": height,
                "value": row[key],
                "label": date_format(row["day"], "SHORT_DATE_FORMAT"),
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": HEIGHT - PAD,
        "right": WIDTH - PAD,
        "pad": PAD,
        "peak": peak if peak > 1 or any(row[key] for row in series) else 0,
        "total": sum(row[key] for row in series),
        "bars": bars,
        "first": bars[0]["label"] if bars else "",
        "last": bars[-1]["label"] if bars else "",
    }


def dashboard_charts(series: list[dict]) -> list[dict]:
    from django.utils.translation import gettext as _

    totals = {k: sum(row[k] for row in series) for k in ("nfc", "qr", "link", "direct")}
    return [
        {"title": _("Views"), "key": "views", "chart": bar_chart(series, "views"), "split": totals},
        {"title": _("vCard saves"), "key": "saves", "chart": bar_chart(series, "saves")},
        {"title": _("Exchanges"), "key": "exchanges", "chart": bar_chart(series, "exchanges")},
    ]
