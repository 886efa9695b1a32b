"""The package's folders are its architecture (STYLE): imports run one way, core <- dav <- app
<- commands; the core does no I/O and reads no clock; commands never import each other.

Each package has an allow-list of what its modules may import, imports inside functions
included. A new library goes on the list of the one package that needs it, on purpose.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "netsync"
STDLIB = set(sys.stdlib_module_names)
# The standard library modules the core may not use: they talk to the world.
IO_STDLIB = {
    "socket",
    "subprocess",
    "sqlite3",
    "ssl",
    "http",
    "urllib.request",
    "imaplib",
    "smtplib",
    "signal",
    "threading",
    "concurrent",
    "asyncio",
    "os",
    "shutil",
    "tempfile",
}

ALLOWED = {
    "core": {"icalendar", "netsync.core"},
    "dav": {"netsync.core", "netsync.dav", "caldav", "niquests", "lxml", "dns", "publicsuffixlist"},
    "app": {"netsync.core", "netsync.dav", "netsync.app", "keyring", "schedule", "radicale",
            "imapclient", "google", "google_auth_oauthlib", "oauthlib", "requests"},
    "commands": {"netsync.core", "netsync.dav", "netsync.app", "netsync.commands.common",
                 "anyascii"},
}  # fmt: skip


def modules(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # `from netsync import dav` imports netsync.dav
            top = node.module == "netsync"
            names |= {f"netsync.{a.name}" for a in node.names} if top else {node.module}
    return names


def own_package(path: Path) -> str | None:
    """``netsync.commands.init`` for a module of the command package commands/init/: the
    steps of one command may import each other (never another command's)."""
    parts = path.relative_to(PACKAGE).parts
    if len(parts) > 2 and parts[0] == "commands":
        return f"netsync.commands.{parts[1]}"
    return None


def within(name: str, path: Path) -> bool:
    own = own_package(path)
    return own is not None and (name == own or name.startswith(own + "."))


def allowed(name: str, package: str) -> bool:
    if name == "__future__" or name.split(".")[0] in STDLIB:
        return package != "core" or not any(
            name == banned or name.startswith(banned + ".") for banned in IO_STDLIB
        )
    return any(name == ok or name.startswith(ok + ".") for ok in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_its_layer_may(package: str) -> None:
    wrong = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in modules(package)
        for name in imported(path)
        if not allowed(name, package)
        and not within(name, path)
        # the command list itself registers every command
        and not (path == PACKAGE / "commands" / "__init__.py" and name == "netsync.commands")
    }
    assert not wrong, sorted(wrong)


def test_commands_do_not_import_each_other() -> None:
    for path in modules("commands"):
        if path == PACKAGE / "commands" / "__init__.py":
            continue  # the command list itself
        others = {
            n for n in imported(path) if n.startswith("netsync.commands") and not within(n, path)
        }
        assert others <= {"netsync.commands.common"}, (path.name, others)


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_module_does_not_read_the_clock(path: Path) -> None:
    source = path.read_text()
    for call in ("date.today(", "datetime.now(", "time.time(", "datetime.utcnow(", "monotonic("):
        assert call not in source
