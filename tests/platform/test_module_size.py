"""No module of tessera/ grows past about 500 lines without a written reason (migrations aside).

A module that long holds more than one thing to change; split it along those things. When a split is not
the right move yet, the module goes in LONG_MODULES with the reason, so that it is a decision, not drift.
"""

from pathlib import Path

import tessera

ROOT = Path(tessera.__file__).resolve().parent
MAX_LINES = 500
# {path under tessera/: why it may be longer}; remove an entry once its module is split.
LONG_MODULES: dict[str, str] = {}


def _lines(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _line in handle)


def _long_modules(root: Path) -> dict[str, int]:
    return {
        path.relative_to(root).as_posix(): count
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.relative_to(root).parts and (count := _lines(path)) > MAX_LINES
    }


def test_no_module_is_long_without_a_written_reason():
    unexplained = {path: count for path, count in _long_modules(ROOT).items() if path not in LONG_MODULES}
    assert unexplained == {}, f"split these modules, or write why not in LONG_MODULES: {unexplained}"


def test_every_written_reason_is_for_a_module_still_long():
    # A reason left behind after the split would let the module grow back unnoticed.
    still_long = _long_modules(ROOT)
    assert sorted(set(LONG_MODULES) - set(still_long)) == []


def test_the_count_sees_a_long_module_and_skips_migrations(tmp_path):
    (tmp_path / "app" / "migrations").mkdir(parents=True)
    (tmp_path / "app" / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "app" / "small.py").write_text("x = 1\n" * MAX_LINES)
    (tmp_path / "app" / "migrations" / "0001_initial.py").write_text("x = 1\n" * (MAX_LINES * 3))
    assert _long_modules(tmp_path) == {"app/big.py": MAX_LINES + 1}
