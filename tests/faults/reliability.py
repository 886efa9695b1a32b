"""The figures the fault tests gather, and docs/reliability.md written from them.

Each test in tests/faults adds one section: what it tried, how often, what survived, and its
count of anything lost or doubled. ``tests/faults/conftest.py`` writes the page when
``make reliability`` asks for it, at the end of a session in which every test of this
directory ran and passed, so the page only ever shows figures from a complete, green run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@dataclass
class Section:
    key: str
    title: str
    what: str  # a paragraph: what was tried
    rows: list[tuple[str, str]] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0
    notes: list[str] = field(default_factory=list)

    def row(self, label: str, value: object) -> None:
        self.rows.append((label, str(value)))


# The sections the page needs, in page order: one per item of issue 5.
ORDER = ("wire", "kill", "state", "storm", "fuzz", "security")
SECTIONS: dict[str, Section] = {}
MODULES = {
    "test_wire_faults.py": "wire",
    "test_kill.py": "kill",
    "test_state_dir.py": "state",
    "test_storm.py": "storm",
    "test_fuzz.py": "fuzz",
    "test_security.py": "security",
}
SECONDS: dict[str, float] = {}  # test time (setup, call, teardown) by section, from conftest
KNOWN: list[str] = []  # known bugs, each pinned by a strict xfail test in tests/faults


def section(key: str, title: str, what: str) -> Section:
    assert key in ORDER, key
    found = SECTIONS.get(key)
    if found is None:
        found = SECTIONS[key] = Section(key, title, " ".join(what.split()))
    elif title:  # a test adding a row may come first; the test that owns it names it
        found.title, found.what = title, " ".join(what.split())
    return found


def complete() -> bool:
    return all(key in SECTIONS for key in ORDER)


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    return (
        f"{platform.system()} {platform.release()} on {platform.machine()}"
        f"{f', {cpu}' if cpu else ''}, {cores} cores; Python {sys.version.split()[0]}"
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def render(*, duration: float) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lost = sum(s.lost for s in SECTIONS.values())
    doubled = sum(s.doubled for s in SECTIONS.values())
    servers = ", ".join(
        f"{name} {_version(name)}" for name in ("radicale", "xandikos", "caldav", "niquests")
    )
    out = [
        "# Reliability: what netsync was put through, and what survived",
        "",
        "<!-- Written by tests/faults (conftest.py) at the end of a complete, green run of",
        "     `pytest tests/faults`. Do not edit by hand: run the suite to refresh it. -->",
        "",
        f"Run of {now.isoformat()} on {_machine()}.",
        f"Servers and libraries: {servers}. The tests of tests/faults took {duration:.0f} s.",
        "",
        "Every figure below was counted by the test that did the work, in that run. The",
        "servers are real (Radicale and Xandikos on loopback); the faults come from a proxy of",
        "the tests' own (`tests/faults/faultproxy.py`) that sits between netsync and the server.",
        "",
        "| | lost | doubled |",
        "|---|---:|---:|",
    ]
    for key in ORDER:
        s = SECTIONS.get(key)
        if s is not None:
            out.append(f"| {s.title} | {s.lost} | {s.doubled} |")
    out += [f"| **all** | **{lost}** | **{doubled}** |", ""]
    for number, key in enumerate(ORDER, 1):
        s = SECTIONS.get(key)
        if s is None:
            continue
        out += [f"## {number}. {s.title}", "", s.what, "", "| what | figure |", "|---|---:|"]
        out += [f"| {label} | {value} |" for label, value in s.rows]
        out += [f"| lost | {s.lost} |", f"| doubled | {s.doubled} |"]
        out += [f"| test time | {SECONDS.get(key, 0.0):.1f} s |", ""]
        if s.notes:
            out += [f"- {note}" for note in s.notes]
            out.append("")
    out += ["## Known gaps", ""]
    if KNOWN:
        out.append("Each is pinned by a test marked `xfail(strict=True)`, which fails the suite")
        out.append("the day the bug is fixed, so that this list is kept true as well.")
        out.append("")
        out += [f"{number}. {known}" for number, known in enumerate(KNOWN, 1)]
    else:
        out.append("None known.")
    return "\n".join(out).rstrip() + "\n"


def write(*, duration: float, to: Path = DOC) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_text(render(duration=duration))
    return to
