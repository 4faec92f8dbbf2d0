"""The package's layers, stated once and checked on every import: none points up.

    cli, __main__              the command line: may use anything
    api (+ web, static)        HTTP: services, storage, auth, the runtime; never jobs or pipeline
    runtime.resources, .health one process composed: queue, workers, models, storage
    jobs                       background jobs: the pipeline and services
    services                   sessions, speakers, words, groups, accounts, webhooks, evaluation
    pipeline                   pure audio stages: the lexicon, errors and settings only
    storage, auth, ratelimit   infrastructure: settings and errors
    lexicon                    pure data
    ground                     settings, errors, logs, the version, runtime.threads and .periodic

Every import counts, those inside functions and under ``TYPE_CHECKING`` too: an arrow that
points up is a design smell even when it costs nothing at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lahstats"

# the layer of each module, by the longest dotted prefix of its name under ``lahstats``
LAYERS = {
    "": "ground",  # lahstats/__init__.py: the version
    "settings": "ground",
    "errors": "ground",
    "logs": "ground",
    "runtime.threads": "ground",
    "runtime.periodic": "ground",
    "lexicon": "lexicon",
    "storage": "infrastructure",
    "auth": "infrastructure",
    "runtime.ratelimit": "infrastructure",
    "pipeline": "pipeline",
    "sessions": "services",
    "speakers": "services",
    "words": "services",
    "groups": "services",
    "accounts": "services",
    "webhooks": "services",
    "evaluation": "services",
    "jobs": "jobs",
    "runtime": "process",  # runtime/__init__ (imports nothing), resources, health
    "api": "api",
    "web": "api",
    "cli": "cli",
    "__main__": "cli",
}
BELOW = {
    "ground": {"ground"},
    "lexicon": {"lexicon", "ground"},
    "infrastructure": {"infrastructure", "ground"},
    "pipeline": {"pipeline", "lexicon", "ground"},
    "services": {"services", "pipeline", "infrastructure", "lexicon", "ground"},
    "jobs": {"jobs", "services", "pipeline", "infrastructure", "lexicon", "ground"},
    "process": {"process", "jobs", "services", "pipeline", "infrastructure", "lexicon", "ground"},
    "api": {"api", "process", "services", "infrastructure", "lexicon", "ground"},
    "cli": set(LAYERS.values()),
}
# The pipeline is pure: of the ground floor it may use only errors and settings (no logs setup).
PIPELINE_GROUND = {"", "errors", "settings"}


def layer_of(module: str) -> str:
    """``module`` is dotted and relative to ``lahstats`` ("" for the package itself)."""
    parts = module.split(".") if module else []
    for length in range(len(parts), -1, -1):
        prefix = ".".join(parts[:length])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"lahstats.{module} has no layer: add it to LAYERS")


def imports_of(path: Path, package: str) -> list[tuple[str, int]]:
    """The ``lahstats`` modules a file imports, relative to the package, with their lines."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == package:  # from lahstats import x: x may be a module
                names = [f"{package}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name == package or name.startswith(package + "."):
                found.append((name.removeprefix(package).removeprefix("."), node.lineno))
    return found


def violations(root: Path) -> list[str]:
    """Every import in the package at ``root`` that points up, as ``file:line: a -> b``."""
    package = root.name
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        module = ".".join(parts)
        source = layer_of(module)
        for target, line in imports_of(path, package):
            # "from lahstats.x import y" where y is a module of x: judge x.y (more precise)
            candidate = target
            while candidate and not _exists(root, candidate):
                candidate = candidate.rpartition(".")[0]
            destination = layer_of(candidate)
            allowed = destination in BELOW[source]
            if source == "pipeline" and destination == "ground":
                allowed = candidate.split(".")[0] in PIPELINE_GROUND
            if not allowed:
                where = path.relative_to(root.parent)
                found.append(f"{where}:{line}: {source} {module} -> {destination} {candidate}")
    return found


def _exists(root: Path, module: str) -> bool:
    base = root.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_no_import_points_up() -> None:
    assert violations(PACKAGE) == []


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        parts = [p for p in path.relative_to(PACKAGE).with_suffix("").parts if p != "__init__"]
        layer_of(".".join(parts))


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("pipeline/bad.py", "from lahstats.jobs.chunks import x\n", "pipeline -> jobs"),
        ("pipeline/bad.py", "def f():\n    from lahstats.logs import y\n", "pipeline -> ground"),
        ("words/bad.py", "from lahstats.jobs import chunks\n", "services -> jobs"),
        ("api/bad.py", "import lahstats.pipeline.run\n", "api -> pipeline"),
        ("settings.py", "from lahstats.runtime.ratelimit import z\n", "ground -> infra"),
    ],
)
def test_the_check_catches_an_import_that_points_up(
    tmp_path: Path, module: str, source: str, broken: str
) -> None:
    root = tmp_path / "lahstats"
    for name in (
        "__init__.py",
        "settings.py",
        "logs.py",
        "jobs/__init__.py",
        "jobs/chunks.py",
        "pipeline/__init__.py",
        "pipeline/run.py",
        "words/__init__.py",
        "api/__init__.py",
        "runtime/__init__.py",
        "runtime/ratelimit.py",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()
    assert violations(root) == []

    (root / module).write_text(source)

    found = violations(root)
    assert len(found) == 1, (broken, found)
    assert module in found[0]


def test_controllers_never_commit_build_a_service_or_reach_the_tables() -> None:
    """The request's unit of work is the services': a controller is given the services it calls
    (``api/deps.py`` builds them) and answers with what they return. It never commits, never
    builds a service or a repository, never asks for the unit of work itself and never touches
    a table model (the services return read schemas)."""
    found = []
    for path in sorted((PACKAGE / "api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = node.func if isinstance(node, ast.Call) else None
            if (
                path.name != "deps.py"
                and isinstance(called, ast.Name)
                and called.id.endswith("Service")
            ):
                found.append(f"{path.name}:{node.lineno}: builds {called.id}")
            if isinstance(node, ast.Attribute) and node.attr == "commit":
                found.append(f"{path.name}:{node.lineno}: commits")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                ("lahstats.storage.repositories", "lahstats.storage.models")
            ):
                found.append(f"{path.name}:{node.lineno}: imports {node.module}")
            if (
                path.name != "deps.py"
                and isinstance(node, ast.arg)
                and isinstance(node.annotation, ast.Name)
                and node.annotation.id == "DbSession"
            ):
                found.append(f"{path.name}:{node.lineno}: asks for the unit of work ({node.arg})")
    assert found == []
