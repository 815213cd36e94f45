"""Meetings (and the apps to come) reach organisations through accounts, never through cards.

Every import statement counts, those inside functions too: an import moved into a function hides a
dependency from a reader, not from the layers.
"""

import ast
from pathlib import Path

import pytest

import tessera

ROOT = Path(tessera.__file__).resolve().parent


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            # `from tessera import cards` names the package in the alias, not in the module.
            found += [(node.lineno, target)] + [(node.lineno, f"{target}.{a.name}") for a in node.names]
    return found


def _violations(app: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / app).rglob("*.py")):
        module = "tessera." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for line, target in _imports(path, module):
            if any(target == name or target.startswith(name + ".") for name in forbidden):
                bad.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    return bad


@pytest.mark.parametrize(
    ("app", "forbidden"),
    [
        ("meetings", ("tessera.cards",)),
        ("accounts", ("tessera.cards", "tessera.meetings")),
    ],
)
def test_an_app_imports_nothing_from_the_apps_above_it(app, forbidden):
    assert _violations(app, forbidden) == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "views.py"
    source.write_text(
        "def view(request):\n"
        "    from tessera.cards import services\n"
        "    from ..cards.selectors import membership_get\n"
        "    import tessera.cards.models\n"
    )
    assert _imports(source, "tessera.meetings.views") == [
        (2, "tessera.cards"),
        (2, "tessera.cards.services"),
        (3, "tessera.cards.selectors"),
        (3, "tessera.cards.selectors.membership_get"),
        (4, "tessera.cards.models"),
    ]
