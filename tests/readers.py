"""Real calendar readers, to check what netsync writes the way calendar apps read it.

- ical.js, Thunderbird's parser (npm, tests/readers/package.json; ``npm ci --prefix
  tests/readers`` installs it, `make test` does so), run by tests/readers/icaljs_check.mjs.
- libical, GNOME Calendar's and Evolution's (Debian's libical-dev), through the small C
  program tests/readers/libical_check.c, compiled once per test session.

Both report what they could not read and when each alarm fires, which the tests compare with
the clock the reminders were written at. .ci/run installs node, npm, a C compiler and
libical-dev; without them these tests fail and say what to install.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).parent / "readers"
INSTALL = (
    "install node, npm, a C compiler, pkg-config and libical-dev (`.ci/run` does), then "
    "`npm ci --prefix tests/readers`"
)


class ReaderMissing(Exception):
    pass


@dataclass
class Reading:
    """What one reader made of a set of calendar objects."""

    errors: list[str] = field(default_factory=list)  # "file: what"
    alarms: dict[str, list[dt.datetime]] = field(default_factory=dict)  # UID -> local times


def libical_checker(workdir: Path) -> Path:
    """The libical checker, compiled into ``workdir``."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or shutil.which("pkg-config") is None:
        raise ReaderMissing(f"no C compiler or pkg-config: {INSTALL}")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libical"], capture_output=True, text=True
    )
    if flags.returncode:
        raise ReaderMissing(f"libical is not installed ({flags.stderr.strip()}): {INSTALL}")
    binary = workdir / "libical_check"
    subprocess.run(
        [cc, "-O1", "-o", str(binary), str(HERE / "libical_check.c"), *flags.stdout.split()],
        check=True,
    )
    return binary


def check_icaljs() -> None:
    """ical.js is there, installed from the lock file by npm when it is not yet (as `make
    test` does), so a plain pytest run on a fresh clone works too."""
    if shutil.which("node") is None:
        raise ReaderMissing(f"no node: {INSTALL}")
    if (HERE / "node_modules" / "ical.js").is_dir():
        return
    if shutil.which("npm") is None:
        raise ReaderMissing(f"ical.js is not installed in {HERE} and there is no npm: {INSTALL}")
    done = subprocess.run(
        ["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
    )
    if done.returncode or not (HERE / "node_modules" / "ical.js").is_dir():
        raise ReaderMissing(f"npm ci failed ({done.stderr.strip()[-300:]}): {INSTALL}")


def _files(objects: dict[str, bytes], workdir: Path) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, (name, body) in enumerate(sorted(objects.items())):
        path = workdir / f"{n:04d}-{name.rsplit('/', 1)[-1]}"
        path.write_bytes(body)
        paths.append(str(path))
    return paths


def read_with_icaljs(objects: dict[str, bytes], *, zone: str, workdir: Path) -> Reading:
    """ical.js's reading, alarm times in ``zone`` (its floating and date values are local)."""
    check_icaljs()
    done = subprocess.run(
        ["node", str(HERE / "icaljs_check.mjs"), *_files(objects, workdir)],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": zone},
        check=True,
    )
    reading, tz = Reading(), ZoneInfo(zone)
    for line in done.stdout.splitlines():
        found = json.loads(line)
        if "error" in found:
            reading.errors.append(f"{found['error']}: {found['text']}")
            continue
        times = [
            dt.datetime.fromtimestamp(a["epoch"], tz).replace(tzinfo=None) for a in found["alarms"]
        ]
        reading.alarms.setdefault(found["uid"], []).extend(times)
    return reading


def read_with_libical(
    objects: dict[str, bytes], *, checker: Path, zone: str, workdir: Path
) -> Reading:
    """libical's reading: every X-LIC-ERROR it added, and the alarm times (wall clock)."""
    done = subprocess.run(
        [str(checker), *_files(objects, workdir)], capture_output=True, text=True, check=True
    )
    reading, tz = Reading(), ZoneInfo(zone)
    for line in done.stdout.splitlines():
        kind, path, *rest = line.split("\t")
        if kind == "error":
            reading.errors.append(f"{path}: {rest[0]}")
        elif kind == "alarm":
            uid, when = rest
            moment = dt.datetime.strptime(when.rstrip("Z"), "%Y%m%dT%H%M%S")
            if when.endswith("Z"):  # an absolute trigger in UTC: where it is in the zone
                moment = moment.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
            reading.alarms.setdefault(uid, []).append(moment)
    return reading
