"""The room protocol's close codes and error names have one source, `room/protocol.py`: the page hands them
to its scripts, and neither the server's room modules nor the room's scripts spell one out again."""

import json
import re
import subprocess
from pathlib import Path

from django.test import Client

from tessera.meetings.room.protocol import FINAL_CLOSES, FINAL_ERRORS, Close, Error
from tests.room.test_js import _node

ROOT = Path(__file__).resolve().parents[2]
ROOM_JS = ROOT / "tessera" / "static" / "tessera" / "js" / "room"
# The scripts of the room page (the frame cipher and key schedule have no close code or error name).
PAGE_SCRIPTS = [
    "signaling.js",
    "room.js",
    "prejoin.js",
    "controls.js",
    "chat.js",
    "lobby.js",
    "recording.js",
    "layout.js",
    "quality.js",
    "speaker.js",
    "page.js",
]
SERVER_MODULES = [
    ROOT / "tessera" / "meetings" / "room" / name
    for name in ("consumers.py", "live.py", "state.py", "selectors.py")
]


def _page_protocol(db) -> dict:
    response = Client().get("/room/abcdefghijklmnop")
    assert response.status_code == 200
    found = re.search(
        r'<script id="room-protocol" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    assert found, "the room page carries no protocol constants"
    return json.loads(found.group(1))


def test_the_room_page_hands_its_scripts_the_close_codes_and_error_names_of_protocol_py(db):
    handed = _page_protocol(db)
    assert handed["close"] == {code.name: code.value for code in Close}
    assert handed["error"] == {error.name: error.value for error in Error}
    assert set(handed["final_closes"]) == {code.value for code in FINAL_CLOSES}
    assert set(handed["final_errors"]) == {error.value for error in FINAL_ERRORS}
    assert handed["close"]["FULL"] == 4409 and handed["error"]["RATE_LIMITED"] == "rate_limited"


def test_protocol_js_exports_what_the_page_hands_it(db, tmp_path):
    """protocol.js, loaded under Node with the page's JSON element, exports exactly the server's values."""
    handed = _page_protocol(db)
    script = tmp_path / "read.mjs"
    script.write_text(
        "globalThis.document = { getElementById: (id) => id === 'room-protocol' ? { textContent: "
        + json.dumps(json.dumps(handed))
        + " } : null };\n"
        + f"const p = await import({json.dumps((ROOM_JS / 'protocol.js').as_uri())});\n"
        + "console.log(JSON.stringify({ close: p.Close, error: p.ErrorCode, "
        + "final_closes: [...p.FINAL_CLOSES], final_errors: [...p.FINAL_ERRORS] }));\n"
    )
    result = subprocess.run([_node(), str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert exported["close"] == {code.name: int(code) for code in Close}
    assert exported["error"] == {error.name: str(error) for error in Error}
    assert set(exported["final_closes"]) == {int(code) for code in FINAL_CLOSES}
    assert set(exported["final_errors"]) == {str(error) for error in FINAL_ERRORS}


def _literals(path: Path) -> list[str]:
    """Close codes and error names written as literals in `path`, with their line numbers."""
    names = "|".join(re.escape(error.value) for error in Error)
    codes = "|".join(str(code.value) for code in Close if code.value >= 4000)
    pattern = re.compile(rf"""(?<![\w.])({codes})(?![\w.])|["'`]({names})["'`]""")
    return [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]


def test_no_close_code_or_error_name_is_spelled_out_outside_protocol_py():
    scripts = [ROOM_JS / name for name in PAGE_SCRIPTS]
    assert all(path.is_file() for path in scripts + SERVER_MODULES)
    found = [hit for path in scripts + SERVER_MODULES for hit in _literals(path)]
    assert found == []


def test_the_literal_finder_finds_a_close_code_and_an_error_name(tmp_path):
    """The check above must be able to fail: a literal written as the old code had it is found."""
    sample = tmp_path / "old.js"
    sample.write_text('const FINAL = new Set([4401, 1000]);\nif (m.code === "rate_limited") stop();\n')
    assert len(_literals(sample)) == 2
