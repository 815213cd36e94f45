"""Every string of the product is in the French catalogue, translated, and none is a fuzzy guess.

`makemessages` run on a copy of the source finds what the committed catalogue lacks: a new string that
nobody extracted shows in English to French readers, and so does a changed one that `makemessages` marked
fuzzy. gettext's own tools read the file, as `compilemessages` does.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "tessera"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    """The committed French catalogue, brought up to date with today's source in a copy."""
    copy = tmp_path_factory.mktemp("i18n") / "tessera"
    shutil.copytree(
        SOURCE, copy, ignore=shutil.ignore_patterns("vendor", "__pycache__", "*.mo", "media", "*.sqlite3")
    )
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "fr", "--no-obsolete"],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )
    return copy / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def _entries(catalogue: Path, *options: str) -> list[str]:
    selected = subprocess.run(
        ["msgattrib", *options, "--no-obsolete", "--no-wrap", str(catalogue)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # One block per entry; a multi-line msgid starts with `msgid ""`, so whole blocks are kept.
    return [block.strip() for block in selected.split("\n\n") if "\nmsgid " in f"\n{block}"]


def test_every_string_of_the_source_has_a_french_translation(extracted):
    assert _entries(extracted, "--untranslated") == []


def test_no_french_translation_is_a_fuzzy_guess(extracted):
    assert _entries(extracted, "--only-fuzzy") == []


def test_the_committed_catalogue_is_the_extracted_one(extracted):
    """Nothing is translated only in a copy: the committed file already holds every entry."""
    committed = SOURCE / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    assert len(_entries(committed)) == len(_entries(extracted))
