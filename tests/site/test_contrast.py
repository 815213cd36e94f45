"""The home page's small eyebrow text against every colour of the hero's gradient, read from the stylesheet."""

import re
from pathlib import Path

import pytest

from tessera.cards.services import contrast_ratio

CSS = (Path(__file__).parents[2] / "tessera/static/tessera/css/tessera.css").read_text()
AA_NORMAL_TEXT = 4.5  # .eyebrow is 0.8rem: normal-size text for WCAG 1.4.3


def _block(text: str, selector: str) -> str:
    """The declarations of the first rule whose selector is exactly `selector`."""
    match = re.search(r"(?:^|[}\s])" + re.escape(selector) + r"\s*\{([^}]*)\}", text)
    assert match, selector
    return match.group(1)


def _variables(scheme: str) -> dict[str, str]:
    variables = dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", _block(CSS, ":root")))
    if scheme == "dark":
        dark = re.search(r"@media \(prefers-color-scheme: dark\)\s*\{(.*?\})\s*\}", CSS, re.S).group(1)
        variables |= dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", _block(dark, ":root")))
    return variables


def _split(arguments: str) -> list[str]:
    """Split on the commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in arguments:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def _colour(value: str, variables: dict) -> str:
    """A #rrggbb from a hex colour, var(--x) or color-mix(in srgb, A p%, B), as this stylesheet writes them."""
    value = value.strip()
    if match := re.fullmatch(r"var\((--[\w-]+)\)", value):
        return _colour(variables[match.group(1)], variables)
    if match := re.fullmatch(r"color-mix\(in srgb,(.*)\)", value):
        first, second = _split(match.group(1))
        first, share = re.fullmatch(r"(.*?)\s+([\d.]+)%", first).groups()
        p = float(share) / 100
        a, b = _rgb(_colour(first, variables)), _rgb(_colour(second, variables))
        return _hex(p * x + (1 - p) * y for x, y in zip(a, b, strict=True))
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", value), value
    return value.lower()


def _gradient_stops(variables: dict) -> list[str]:
    background = re.search(r"background:\s*linear-gradient\((.*)\);", _block(CSS, ".hero")).group(1)
    stops = [s for s in _split(background) if not re.fullmatch(r"[\d.]+deg|to [\w ]+", s)]
    return [_colour(re.sub(r"\s+[\d.]+%$", "", stop), variables) for stop in stops]


def test_the_parser_reads_the_hero_gradient_as_the_browser_does():
    light = _variables("light")
    # Chromium computes this mix as color(srgb 0.852392 0.848784 0.953569), which is #d9d8f3.
    assert _colour("color-mix(in srgb, #4338ca 16%, #f6f7fb)", light) == "#d9d8f3"
    assert len(_gradient_stops(light)) == 2


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_eyebrow_passes_aa_against_every_colour_of_the_hero_gradient(scheme):
    variables = _variables(scheme)
    text = _colour(re.search(r"(?<![-\w])color:\s*([^;]+);", _block(CSS, ".eyebrow")).group(1), variables)
    first, last = (_rgb(c) for c in _gradient_stops(variables))
    # Every colour between the stops, not only the stops.
    behind = [
        _hex(t / 100 * y + (1 - t / 100) * x for x, y in zip(first, last, strict=True)) for t in range(101)
    ]
    behind += [_colour(variables["--bg"], variables), _colour(variables["--surface"], variables)]
    worst = min(contrast_ratio(text, colour) for colour in behind)
    assert worst >= AA_NORMAL_TEXT, (scheme, text, round(worst, 2))
