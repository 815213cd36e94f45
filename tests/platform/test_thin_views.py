"""Views and API endpoints stay thin: form or schema, then one service call, then render.

Every function of a view or API module is read with `ast`. On any one path through it (an `if` and its
`else` are two paths, a branch that returns ends its path, a loop counts as running twice) it may call at
most one write of a `services` module, counting the module's own helpers it calls. No function of these
modules writes a model itself (`.save()`, `.delete()`, a queryset's `.update()`, `objects.create()`...):
composing writes belongs in a service, where one transaction holds them together.
"""

import ast
from pathlib import Path

import pytest

import tessera

ROOT = Path(tessera.__file__).resolve().parent

# Reads that still live in a services module: they write nothing, so calling one beside a write is honest.
READS = {
    "acts_as_admin",  # cards: a permission check
    "directive_export_check",  # privacy: says whether a directive's export link still opens
    "invitation_by_token",  # cards: finds an open invitation
    "portal_email",  # privacy: reads the address a signed portal token carries
    "rights_link_check",  # privacy: says whether a one-time link still opens
    "unsubscribe_consent",  # privacy: reads the consent a signed unsubscribe token names
}
# Functions allowed more than one service write on a path, each with its reason: {(module, function): why}.
# Empty today: every view and endpoint composes its writes in one service.
ALLOWED: dict[tuple[str, str], str] = {}
WRITES = {"save", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
MANY = 2  # what a loop around a write counts as


def view_modules() -> list[Path]:
    found = {*ROOT.rglob("views.py"), *ROOT.rglob("views/*.py"), *ROOT.rglob("api.py")}
    return sorted(path for path in found if "migrations" not in path.parts)


def _dotted(path: Path, node: ast.ImportFrom) -> str:
    package = list(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    if node.level:
        package = package[: len(package) - node.level + 1]
        return ".".join([*package, node.module] if node.module else package)
    return node.module or ""


def _service_names(path: Path, tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to a services module, and names of functions imported from one."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _dotted(path, node)
            for alias in node.names:
                if alias.name == "services":
                    modules.add(alias.asname or alias.name)
                elif "services" in base.split("."):
                    functions.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if "services" in alias.name.split(".") and alias.asname:
                    modules.add(alias.asname)
    return modules, functions


def _direct_write(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    receiver = ast.unparse(func.value)
    if func.attr in WRITES:
        return True
    if func.attr == "create":
        return receiver.endswith("objects") or ".objects." in receiver
    # A dict's update is no write; a queryset's is: it hangs off a manager or a call like filter().
    return func.attr == "update" and (isinstance(func.value, ast.Call) or "objects" in receiver)


class _Module:
    def __init__(self, path: Path):
        self.path = path
        self.tree = ast.parse(path.read_text())
        self.modules, self.functions = _service_names(path, self.tree)
        self.defs = {
            node.name: node
            for node in ast.walk(self.tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self._costs: dict[str, int] = {}

    def service_write(self, call: ast.Call) -> str | None:
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.modules
        ):
            name = func.attr
        elif isinstance(func, ast.Name) and func.id in self.functions:
            name = func.id
        else:
            return None
        # A class (an exception, a value) is no write, nor is a read that lives in services.
        return None if name[:1].isupper() or name in READS else name

    def expression(self, node: ast.AST | None) -> int:
        """Service writes an expression makes, with those of the module's own functions it calls."""
        if node is None:
            return 0
        total = 0
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            if self.service_write(call):
                total += 1
            elif isinstance(call.func, ast.Name) and call.func.id in self.defs:
                total += self.cost(call.func.id)
        return total

    def cost(self, name: str) -> int:
        if name not in self._costs:
            self._costs[name] = 0  # a recursive call adds nothing
            falls, leaves = self.block(self.defs[name].body)
            self._costs[name] = max(falls, leaves)
        return self._costs[name]

    def block(self, statements: list[ast.stmt]) -> tuple[float, float]:
        """(most writes on a path that runs past the block, most on a path that returns or raises in it)."""
        falls, leaves = 0.0, float("-inf")
        for statement in statements:
            step_falls, step_leaves = self.statement(statement)
            leaves = max(leaves, falls + step_leaves)
            falls += step_falls
        return falls, leaves

    def statement(self, node: ast.stmt) -> tuple[float, float]:
        never = float("-inf")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return 0, never  # defining runs nothing; a call to it is counted where it is made
        if isinstance(node, (ast.Return, ast.Raise)):
            return never, self.expression(node)
        if isinstance(node, ast.If):
            test = self.expression(node.test)
            body, orelse = self.block(node.body), self.block(node.orelse)
            return test + max(body[0], orelse[0]), test + max(body[1], orelse[1])
        if isinstance(node, ast.Match):
            subject = self.expression(node.subject)
            cases = [self.block(case.body) for case in node.cases] + [(0, never)]
            return subject + max(c[0] for c in cases), subject + max(c[1] for c in cases)
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            head = self.expression(node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else node.test)
            body = max(self.block(node.body))
            loop = head + (MANY * body if body > 0 else 0)
            after = self.block(node.orelse)
            return loop + after[0], loop + max(after[1], 0)
        if isinstance(node, (ast.With, ast.AsyncWith)):
            items = sum(self.expression(item.context_expr) for item in node.items)
            body = self.block(node.body)
            return items + body[0], items + body[1]
        if isinstance(node, (ast.Try, ast.TryStar)):
            # Worst case: the body ran its writes, then a handler, then the rest.
            body = max(self.block(node.body))
            handlers = [self.block(handler.body) for handler in node.handlers] or [(0, never)]
            orelse, final = self.block(node.orelse), self.block(node.finalbody)
            falls = body + max(max(h[0] for h in handlers), orelse[0], 0) + final[0]
            leaves = body + max(max(h[1] for h in handlers), orelse[1], 0) + max(final)
            return falls, leaves
        return self.expression(node), never


MODULES = [_Module(path) for path in view_modules()]


def _name(module: _Module) -> str:
    return str(module.path.relative_to(ROOT))


def test_the_view_modules_are_found():
    names = {_name(module) for module in MODULES}
    assert {"meetings/views.py", "meetings/api.py", "cards/api.py", "privacy/views.py"} <= names
    assert any(name.startswith("cards/views/") for name in names)


@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_a_view_calls_at_most_one_service_write_on_any_path(module):
    crowded = [
        f"{_name(module)}:{node.lineno} {name}() makes {module.cost(name):g} service writes on one path"
        for name, node in module.defs.items()
        if module.cost(name) > 1 and (_name(module), name) not in ALLOWED
    ]
    assert not crowded, "Compose the writes in one `<entity>_<action>` service:\n" + "\n".join(crowded)


@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_a_view_writes_no_model_itself(module):
    writes = [
        f"{_name(module)}:{call.lineno} {ast.unparse(call.func)}()"
        for node in module.defs.values()
        for statement in node.body
        for call in ast.walk(statement)
        if isinstance(call, ast.Call) and _direct_write(call)
    ]
    assert not writes, "Write through a service:\n" + "\n".join(writes)


def test_the_allow_list_names_functions_that_exist():
    defined = {(_name(module), name) for module in MODULES for name in module.defs}
    assert set(ALLOWED) <= defined


CHECK = """
from . import services

def two(request):
    services.a_create(x=1)
    services.b_update(y=2)

def branches(request):
    if request.method == "POST":
        services.a_create(x=1)
        return None
    services.b_update(y=2)

def looped(request):
    for item in request.POST:
        services.a_create(x=item)

def helper():
    services.a_create(x=1)

def through_helper(request):
    helper()
    services.b_update(y=2)

def reads(request):
    services.rights_link_check(token="t")
    services.b_update(y=2)
"""


def test_the_check_counts_writes_on_one_path():
    path = ROOT / "cards" / "views" / "example.py"  # only its place matters: the text is parsed, not run
    module = _Module.__new__(_Module)
    module.path, module.tree = path, ast.parse(CHECK)
    module.modules, module.functions = _service_names(path, module.tree)
    module.defs = {node.name: node for node in module.tree.body if isinstance(node, ast.FunctionDef)}
    module._costs = {}
    assert {name: module.cost(name) for name in module.defs} == {
        "two": 2,
        "branches": 1,
        "looped": 2,
        "helper": 1,
        "through_helper": 2,
        "reads": 1,
    }


def test_the_check_finds_direct_writes():
    calls = [
        node
        for node in ast.walk(
            ast.parse(
                "card.save()\nCard.objects.filter(pk=1).update(x=1)\nCard.objects.create(x=1)\n"
                "body.update(x=1)\nform.save_m2m\nrow.delete()\n"
            )
        )
        if isinstance(node, ast.Call)
    ]
    assert [ast.unparse(call.func) for call in calls if _direct_write(call)] == [
        "card.save",
        "Card.objects.filter(pk=1).update",
        "Card.objects.create",
        "row.delete",
    ]
