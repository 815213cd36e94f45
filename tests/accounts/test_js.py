"""The accounts ES modules' pure parts, under Node's built-in test runner."""

import shutil
import subprocess
from pathlib import Path

import pytest

NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_webauthn_json_conversions():
    tests = Path(__file__).parent / "js"
    result = subprocess.run(
        [NODE, "--test", *sorted(str(p) for p in tests.glob("*.test.mjs"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
