"""Meetings and its live room depend one way: the room imports meetings (events, invitations, sessions),
and meetings' models, reads and writes import nothing of the room. Function-level imports count too.

Two modules on top of both may still name the room: `privacy` declares the room's conference data among
the meetings rules (one service in the policy, one export and erasure of a meeting), and `views` serves
the room page at the emailed link and shows a session's call quality on the management page.
"""

from pathlib import Path

import pytest

import tessera
from tessera.meetings import services
from tests.platform.test_layers import _imports

MEETINGS = Path(tessera.__file__).resolve().parent / "meetings"
ROOM = "tessera.meetings.room"
COMPOSING = {"privacy.py", "views.py"}


def _bad(path: Path, forbidden: str) -> list[str]:
    module = f"tessera.meetings.{path.stem}"
    return [
        f"{path.name}:{line} imports {target}"
        for line, target in _imports(path, module)
        if target == forbidden or target.startswith(forbidden + ".")
    ]


def test_meetings_imports_nothing_of_the_room_but_in_its_privacy_declarations_and_views():
    modules = sorted(p for p in MEETINGS.glob("*.py") if p.name not in COMPOSING)
    assert {"services.py", "selectors.py", "models.py", "forms.py"} <= {p.name for p in modules}
    assert [hit for path in modules for hit in _bad(path, ROOM)] == []


def test_the_meetings_services_reach_the_consent_texts_without_the_forms():
    assert _bad(MEETINGS / "services.py", "tessera.meetings.forms") == []


@pytest.mark.parametrize("name", ["room", "room.models"])
def test_the_check_sees_an_import_of_the_room_inside_a_function(tmp_path, name):
    source = tmp_path / "services.py"
    source.write_text(f"def write():\n    from .{name} import thing\n")
    assert _bad(source, ROOM) != []


def test_the_room_registers_the_deletion_of_its_conference_data():
    from tessera.meetings.room.services import conference_data_delete

    assert conference_data_delete in services._session_data_deleters
