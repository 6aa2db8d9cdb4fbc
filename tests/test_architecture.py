"""The layering in docs/ARCHITECTURE.md, checked on every import in dialer/
(module level and inside functions alike):

    pure rules < models < one domain's services < flows and read views < routes < wiring

A module imports only from its own layer or below; no import cycle exists
between modules; services of different domains import each other along a DAG
(no two domains' services lean on each other); and the lead's status and
scheduling columns are written by `dialer.leads.lifecycle` alone."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "dialer"

PURE, MODELS, SERVICES, FLOWS, ROUTES, WIRING = range(6)
LAYER_NAMES = ["pure rule", "model", "service", "flow or view", "route", "wiring"]

# Pure rules: data in, decision out; no session, no web.
PURE_MODULES = {
    "dialer.agents.floor_rules",
    "dialer.agents.order",
    "dialer.agents.signin",
    "dialer.calls.best_hour",
    "dialer.calls.outcomes",
    "dialer.calls.pacer",
    "dialer.calls.retry",
    "dialer.calls.status",
    "dialer.campaign.hours",
    "dialer.campaign.message",
    "dialer.campaign.patterns",
    "dialer.campaign.script",
    "dialer.conversions.attribution",
    "dialer.leads.csvfile",
    "dialer.leads.dialrules",
    "dialer.leads.eligibility",
    "dialer.leads.phones",
    "dialer.leads.prepare",
    "dialer.leads.search_keys",
    "dialer.promises.slots",
    "dialer.reports.charts",
    "dialer.reports.compliance_rules",
    "dialer.reports.rules",
    "dialer.telephony.faults",
}
# Shapes, tables, statements and the plumbing under every domain.
MODEL_MODULES = {
    "dialer",
    "dialer.clock",
    "dialer.db",
    "dialer.errors",
    "dialer.logs",
    "dialer.failing",
    "dialer.metrics",
    "dialer.models",
    "dialer.settings",
    "dialer.sql",
    "dialer.system",
    "dialer.wire",
}
# Flows span domains (a call's disposition touches leads, promises, DNC and
# credit); read views assemble what the API and consoles show.
FLOW_MODULES = {
    "dialer.agents.deactivation",
    "dialer.calls.connect",
    "dialer.calls.disposition",
    "dialer.calls.inbound",
    "dialer.calls.placing",
    "dialer.calls.predictive",
    "dialer.calls.progressive",
    "dialer.reports.campaign",
    "dialer.reports.compliance",
    "dialer.reports.service",
    "dialer.telephony.dialing",
    "dialer.telephony.simulated",
    "dialer.telephony.webhooks",
}
ROUTE_MODULES = {
    "dialer.web",
    "dialer.admin",
    "dialer.limits",
    "dialer.uploads",
    "dialer.console.vendor",
    "dialer.console.manage",
}
WIRING_MODULES = {
    "dialer.apidocs",
    "dialer.app",
    "dialer.cli",
    "dialer.demo",
    "dialer.jobs",
    "dialer.runtime",
    "dialer.scheduler",
    "dialer.simulation",
    "dialer.__main__",
}
# Test support that runs real servers: wiring of its own.
IGNORED_PREFIXES = ("dialer.migrations", "dialer.testing")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {m: p for m, p in found.items() if not m.startswith(IGNORED_PREFIXES)}


def layer_of(module: str) -> int:
    leaf = module.rsplit(".", 1)[-1]
    if module in PURE_MODULES:
        return PURE
    if module in MODEL_MODULES or leaf in ("models", "schemas") or leaf.endswith("_sql"):
        return MODELS
    if module in WIRING_MODULES:
        return WIRING
    if module in ROUTE_MODULES or leaf == "routes":
        return ROUTES
    if module in FLOW_MODULES or module.startswith("dialer.views"):
        return FLOWS
    return SERVICES


def domain_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 else module


def _type_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under `if TYPE_CHECKING:`: names for annotations only,
    which load nothing (a route is handed the runtime; it does not build one)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name | ast.Attribute):
            name = node.test.id if isinstance(node.test, ast.Name) else node.test.attr
            if name == "TYPE_CHECKING":
                found.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return found


def imports_of(path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """Every dialer module `path` imports at run time, anywhere in it (inside
    functions too), with the line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("dialer"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield (sub if sub in known else node.module), node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dialer"):
                    yield alias.name, node.lineno


def graph() -> dict[str, dict[str, int]]:
    found = modules()
    known = set(found) | {m for m in found}
    edges: dict[str, dict[str, int]] = defaultdict(dict)
    for module, path in found.items():
        for target, line in imports_of(path, known):
            while target not in found and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in found and target != module and not target == "dialer":
                edges[module].setdefault(target, line)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


# The plumbing a pure rule must not reach for: it takes data, not a session.
STORAGE_AND_WEB = ("sqlalchemy", "sqlmodel", "fastapi", "starlette", "psycopg", "twilio")
NOT_FOR_RULES = {"dialer.db", "dialer.sql", "dialer.clock", "dialer.settings", "dialer.metrics"}


def allowed(module: str, target: str) -> bool:
    if layer_of(module) == PURE and layer_of(target) == MODELS:
        # The enums and policy shapes that models and schemas define are data.
        return target not in NOT_FOR_RULES and not target.endswith("_sql")
    return layer_of(target) <= layer_of(module)


def test_pure_rules_touch_no_storage_or_web() -> None:
    wrong = []
    for module in sorted(PURE_MODULES):
        tree = ast.parse(modules()[module].read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            wrong += [f"{module}:{node.lineno} {n}" for n in names if n.startswith(STORAGE_AND_WEB)]
    assert wrong == []


def test_every_import_goes_down_the_layers() -> None:
    wrong = []
    for module, targets in sorted(graph().items()):
        for target, line in sorted(targets.items()):
            if not allowed(module, target):
                wrong.append(
                    f"{module}:{line} ({LAYER_NAMES[layer_of(module)]}) imports {target}"
                    f" ({LAYER_NAMES[layer_of(target)]})"
                )
    assert wrong == []


def test_no_import_cycle_between_modules() -> None:
    edges = {m: set(t) for m, t in graph().items()}
    assert cycles(edges) == []


def test_services_of_different_domains_form_no_cycle() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph().items():
        if layer_of(module) != SERVICES:
            continue
        for target in targets:
            if layer_of(target) == SERVICES and domain_of(target) != domain_of(module):
                edges[domain_of(module)].add(domain_of(target))
    assert cycles(edges) == []


# --- the lead lifecycle's columns ----------------------------------------------------

LEAD_COLUMNS = (
    "status", "next_attempt_at", "next_attempt_reason", "promise_id", "reserved_agent_id",
    "reserved_until", "attempts", "unsolicited_attempts", "day_attempts", "day_attempts_date",
    "failure_counts", "last_outcome", "abandoned_at",
)  # fmt: skip
LIFECYCLE = {"dialer.leads.lifecycle", "dialer.leads.lifecycle_sql"}
RAW_LEAD_WRITE = re.compile(
    r"UPDATE\s+lead\s+SET[^;]*\b(" + "|".join(LEAD_COLUMNS) + r")\s*=", re.IGNORECASE
)


def lead_column_writes(path: Path) -> Iterator[str]:
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr in LEAD_COLUMNS
                and isinstance(target.value, ast.Name)
                and target.value.id == "lead"
            ):
                yield f"line {node.lineno}: lead.{target.attr}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if RAW_LEAD_WRITE.search(node.value):
                yield f"line {node.lineno}: {node.value[:60]}"


def test_only_the_lifecycle_writes_a_leads_status_and_schedule() -> None:
    found = {
        module: list(lead_column_writes(path))
        for module, path in modules().items()
        if module not in LIFECYCLE
    }
    assert {m: w for m, w in found.items() if w} == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("lead.status = 'new'", 1),
        ("lead.next_attempt_at = None", 1),
        ("lead.attempts += 1", 1),
        ("call.status = 'completed'", 0),
        ("SQL = 'UPDATE lead SET status = ? WHERE id = ?'", 1),
        ("SQL = 'UPDATE call SET status = ? WHERE id = ?'", 0),
    ],
)
def test_the_column_check_sees_writes(tmp_path: Path, source: str, expected: int) -> None:
    path = tmp_path / "module.py"
    path.write_text(source + "\n", encoding="utf-8")
    assert len(list(lead_column_writes(path))) == expected


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
