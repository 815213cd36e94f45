"""The import contract of tessera/, run by `make test`. The layers, each importing only those to its left:

    core  <-  accounts  <-  privacy  <-  meetings, cards, directory, signatures, site, support

The apps of the last layer import nothing of each other. Inside meetings the live room sits on top:
`tessera.meetings.room` imports meetings, meetings imports nothing of the room. No module imports itself
back through others, and no service or selector imports a form, a view or an admin module.

Every import statement counts, those inside functions too: an import moved into a function hides a
dependency from a reader, not from the layers. Modules outside the apps (urls, api, routing, settings)
compose the apps and may import them all. A lower layer reaches a higher one through a registry it
declares and the higher one fills (accounts/hooks.py, privacy/register.py, meetings' session deleters).
"""

import ast
from pathlib import Path

import pytest

import tessera

ROOT = Path(tessera.__file__).resolve().parent
LAYERS = (
    ("core",),
    ("accounts",),
    ("privacy",),
    ("meetings", "cards", "directory", "signatures", "site", "support"),
)
# A package above the rest of its app: {upper: lower}.
SUBLAYERS = {"meetings.room": "meetings"}
# Reads and writes sit below the pages: a service or selector imports none of these.
BELOW_PAGES = ("services", "selectors")
PAGES = ("forms", "views", "admin")


def modules(root: Path) -> dict[str, Path]:
    """{dotted name: file} for every module of the package at `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, module: str, known) -> list[tuple[int, str]]:
    """(line, module of `known`) for every import in the file, function-level and relative ones included.

    `from package import name` counts as an import of `package.name` when that is a module, as Python
    loads it; a name that is not a module counts as an import of the module that defines it.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.append((node.lineno, target))
    return sorted(set(found))


def graph(root: Path) -> dict[str, list[tuple[int, str]]]:
    known = modules(root)
    return {name: imports(path, name, known) for name, path in known.items()}


def _place(module: str, top: str) -> tuple[int, str] | None:
    """(layer index, app) of a module, or None outside the apps."""
    app = module.removeprefix(f"{top}.").split(".")[0]
    for index, apps in enumerate(LAYERS):
        if app in apps:
            return index, app
    return None


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(root: Path) -> list[str]:
    top, found = root.name, []
    for module, targets in graph(root).items():
        place = _place(module, top)
        if place is None:
            continue
        for line, target in targets:
            where = f"{module}:{line} imports {target}"
            other = _place(target, top)
            if other is None:
                if target != top:
                    found.append(f"{where}, which composes the apps")
            elif other[1] != place[1] and other[0] >= place[0]:
                found.append(f"{where}, {'beside' if other[0] == place[0] else 'above'} it")
            for upper, lower in SUBLAYERS.items():
                upper, lower = f"{top}.{upper}", f"{top}.{lower}"
                if _within(module, lower) and not _within(module, upper) and _within(target, upper):
                    found.append(f"{where}, above it in its app")
            if set(module.split(".")[1:]) & set(BELOW_PAGES) and set(target.split(".")[1:]) & set(PAGES):
                found.append(f"{where}, a page module")
    return sorted(found)


def cycles(root: Path) -> list[list[str]]:
    """The groups of modules that import each other, directly or through others (Tarjan)."""
    edges = {module: [target for _, target in targets] for module, targets in graph(root).items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for module in edges:
        if module not in index:
            visit(module)
    return sorted(found)


def test_every_import_keeps_to_the_layers():
    assert violations(ROOT) == []


def test_no_module_imports_itself_back():
    assert cycles(ROOT) == []


def test_the_contract_sees_every_app_and_the_room():
    apps = {module.split(".")[1] for module in modules(ROOT) if _place(module, "tessera")}
    assert {"core", "accounts", "privacy", "meetings", "cards", "site"} <= apps
    assert "tessera.meetings.room.services" in modules(ROOT)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "tessera"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"core/mail.py": "def send():\n    from tessera.privacy import services\n"},
            "tessera.core.mail:2 imports tessera.privacy.services, above it",
        ),
        (
            {"accounts/signals.py": "def on_sign_in(user):\n    from ..privacy.services import record\n"},
            "tessera.accounts.signals:2 imports tessera.privacy.services, above it",
        ),
        (
            {"meetings/views.py": "def view(request):\n    import tessera.cards.selectors\n"},
            "tessera.meetings.views:2 imports tessera.cards.selectors, beside it",
        ),
        (
            {"cards/views.py": "def view(request):\n    from tessera import meetings\n"},
            "tessera.cards.views:2 imports tessera.meetings, beside it",
        ),
        (
            {"meetings/views.py": "def view(request):\n    from .room import charts\n"},
            "tessera.meetings.views:2 imports tessera.meetings.room.charts, above it in its app",
        ),
        (
            {"privacy/tasks.py": "def job():\n    from tessera.urls import urlpatterns\n"},
            "tessera.privacy.tasks:2 imports tessera.urls, which composes the apps",
        ),
        (
            {"meetings/services.py": "def write():\n    from .forms import CONSENT\n"},
            "tessera.meetings.services:2 imports tessera.meetings.forms, a page module",
        ),
    ],
)
def test_the_contract_catches_a_function_level_import_going_the_wrong_way(tmp_path, files, expected):
    files = {
        "core/models.py": "",
        "privacy/services.py": "",
        "cards/selectors.py": "",
        "meetings/room/charts.py": "from tessera.meetings.models import Session\n",
        "meetings/models.py": "",
        "meetings/forms.py": "",
        "urls.py": "",
        **files,
    }
    assert violations(_package(tmp_path, files)) == [expected]


def test_the_contract_allows_imports_to_the_left_and_within_an_app(tmp_path):
    root = _package(
        tmp_path,
        {
            "core/outbox.py": "",
            "accounts/models.py": "from tessera.core import outbox\n",
            "privacy/accounts.py": "from tessera.accounts.models import User\nfrom .register import registry\n",
            "privacy/register.py": "",
            "meetings/models.py": "",
            "meetings/room/services.py": "def f():\n    from ..models import Event\n    from ...privacy import register\n",
            "urls.py": "from tessera.meetings.room import services\n",
        },
    )
    assert violations(root) == []


def test_the_contract_catches_a_cycle_hidden_in_a_function(tmp_path):
    root = _package(
        tmp_path,
        {
            "core/outbox.py": "from .tasks import deliver\n",
            "core/tasks.py": "def deliver():\n    from . import outbox\n",
            "core/text.py": "from . import outbox\n",
        },
    )
    assert cycles(root) == [["tessera.core.outbox", "tessera.core.tasks"]]


def test_the_room_registers_the_deletion_of_its_conference_data():
    # Meetings reaches the room's data through the deleters the room registers, not by importing it.
    from tessera.meetings import services
    from tessera.meetings.room.services import conference_data_delete

    assert conference_data_delete in services._session_data_deleters
