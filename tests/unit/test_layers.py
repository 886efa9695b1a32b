"""The core stays pure: core modules import no server, keyring or scheduling library and do
not read the clock (STYLE: a pure core inside a thin shell)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = [
    "model",
    "notes",
    "notepatch",
    "vcardtext",
    "occasions",
    "cards",
    "planner",
    "reconcile",
    "ics",
    "texts",
    "learn",
    "durations",
]
BANNED = {
    "caldav",
    "niquests",
    "keyring",
    "schedule",
    "netsync.dav",
    "netsync.dav_contacts",
    "netsync.dav_calendar",
    "netsync.engine",
    "netsync.state",
    "netsync.cli",
    "netsync.config",
    "netsync.secrets",
    "socket",
    "subprocess",
    "sqlite3",
}
PACKAGE = Path(__file__).resolve().parents[2] / "netsync"


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io_library(module: str) -> None:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    assert not {name for name in imported if name.split(".")[0] in BANNED or name in BANNED}


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_read_the_clock(module: str) -> None:
    source = (PACKAGE / f"{module}.py").read_text()
    for call in ("date.today(", "datetime.now(", "time.time(", "datetime.utcnow("):
        assert call not in source
