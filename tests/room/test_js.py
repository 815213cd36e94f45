"""The room's pure ES modules (frame framing, key derivation and wrapping, the WebAssembly frame cipher) under Node's built-in test runner.

Unlike a test that skips, this one fails when Node.js is missing: the E2EE framing and key schedule must be
tested on every run (Debian's `nodejs` package provides it).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1] / "js"
ROOM_TESTS = sorted(p.name for p in TESTS.glob("*.test.mjs"))


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: install Debian's nodejs package to run the room's JS tests")
    return node


def test_the_frame_format_the_keys_the_cipher_and_speaker_detection_have_node_tests():
    assert {"framing.test.mjs", "keys.test.mjs", "aesgcm.test.mjs", "speaker.test.mjs"} <= set(ROOM_TESTS)


@pytest.mark.parametrize("name", ROOM_TESTS)
def test_room_modules_pass_their_node_tests(name):
    path = TESTS / name
    assert path.is_file(), f"{path} is missing"
    result = subprocess.run(
        [_node(), "--test", str(path)], capture_output=True, text=True, timeout=120, cwd=TESTS.parent.parent
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Node reports how many tests ran: a file whose tests were all filtered out must not pass silently.
    passed = [line for line in output.splitlines() if line.lstrip("# ").startswith("pass ")]
    assert passed and int(passed[-1].split()[-1]) > 0, output
