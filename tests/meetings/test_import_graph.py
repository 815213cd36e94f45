"""Meetings and its live room depend one way: the room imports meetings (its events, invitations and
sessions), and meetings' writes import nothing of the room. Function-level imports count too."""

from pathlib import Path

import pytest

import tessera
from tessera.meetings import services
from tests.platform.test_layers import _imports

MEETINGS = Path(tessera.__file__).resolve().parent / "meetings"


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # The room owns the live-session writes; meetings deletes its rows through the room's deleter.
        ("services", ("tessera.meetings.room",)),
        # Consent texts live in texts.py, so that services no longer reaches up into forms.
        ("services", ("tessera.meetings.forms",)),
        ("forms", ("tessera.meetings.room",)),
        ("texts", ("tessera.meetings",)),
    ],
)
def test_meetings_writes_import_nothing_of_the_room_nor_of_the_forms(module, forbidden):
    path = MEETINGS / f"{module}.py"
    found = [
        f"{path.name}:{line} imports {target}"
        for line, target in _imports(path, f"tessera.meetings.{module}")
        if any(target == name or target.startswith(name + ".") for name in forbidden)
    ]
    assert found == []


def test_the_room_registers_the_deletion_of_its_conference_data():
    from tessera.meetings.room.services import conference_data_delete

    assert conference_data_delete in services._session_data_deleters
