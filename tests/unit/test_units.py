"""The units in systemd/ (SPEC 9): `systemd-analyze verify` has nothing to say about them, the
system unit's sandbox rates "OK" (exposure 2.5 or lower) in `systemd-analyze security
--offline=true`, and each unit carries the settings the README promises.

verify insists that ExecStart's program exists, so the units are copied to a temporary
directory with their install path (/usr/local/bin/netsync, %h/.local/bin/netsync) replaced by
this venv's netsync. User units need $XDG_RUNTIME_DIR even offline. systemd-analyze comes from
Debian's systemd package, which .ci/run installs; without it these tests skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
USER_UNITS = ("netsync.service", "netsync-sync.service", "netsync.timer")
SYSTEM_UNIT = "netsync-system.service"
INSTALL_PATHS = ("/usr/local/bin/netsync", "%h/.local/bin/netsync")
ANALYZE = shutil.which("systemd-analyze")

pytestmark = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze not installed (apt-get install systemd)"
)


def netsync_binary() -> str:
    found = Path(sys.executable).parent / "netsync"
    assert found.exists(), f"no netsync script next to {sys.executable}; pip install -e ."
    return str(found)


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    """The units, runnable here: ExecStart pointing at this venv's netsync."""
    for unit in (*USER_UNITS, SYSTEM_UNIT):
        text = (UNITS / unit).read_text()
        for path in INSTALL_PATHS:
            text = text.replace(path, netsync_binary())
        (tmp_path / unit).write_text(text)
    (tmp_path / "runtime").mkdir(mode=0o700)
    return tmp_path


def analyze(staged: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    env = {**os.environ, "XDG_RUNTIME_DIR": str(staged / "runtime"), "SYSTEMD_LOG_COLOR": "0"}
    return subprocess.run(
        [ANALYZE, *args], cwd=staged, env=env, capture_output=True, text=True, timeout=60
    )


def settings(unit: str) -> list[str]:
    """The unit's `Key=value` lines (keys may repeat, as SystemCallFilter= does)."""
    lines = (UNITS / unit).read_text().splitlines()
    return [line.strip() for line in lines if "=" in line and not line.lstrip().startswith("#")]


def test_system_unit_verifies_clean(staged: Path) -> None:
    done = analyze(staged, "verify", f"./{SYSTEM_UNIT}")
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_user_units_verify_clean(staged: Path) -> None:
    done = analyze(staged, "verify", "--user", *(f"./{unit}" for unit in USER_UNITS))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_verify_would_notice_a_mistake(staged: Path) -> None:
    # The two tests above assert silence; this shows silence is not all verify can say.
    broken = staged / "broken.service"
    broken.write_text((staged / SYSTEM_UNIT).read_text().replace("Type=notify", "Type=notfy"))
    done = analyze(staged, "verify", "./broken.service")
    assert "notfy" in done.stdout + done.stderr


def test_system_unit_exposure_is_ok(staged: Path) -> None:
    done = analyze(staged, "security", "--offline=true", "--threshold=25", f"./{SYSTEM_UNIT}")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d) (\w+)", done.stdout)
    assert match, done.stdout[-500:] + done.stderr
    exposure, verdict = float(match[1]), match[2]
    assert exposure <= 2.5 and verdict == "OK" and done.returncode == 0, done.stdout


@pytest.mark.parametrize("unit", ["netsync.service", SYSTEM_UNIT])
def test_daemon_units_talk_to_systemd_and_stop_on_config_errors(unit: str) -> None:
    lines = settings(unit)
    for wanted in (
        "Type=notify",
        "NotifyAccess=main",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert wanted in lines, f"{unit}: {wanted} missing"
    assert any(re.fullmatch(r"RestartPreventExitStatus=78( \d+)*", line) for line in lines)
    assert any(line.startswith("WatchdogSec=") for line in lines)
    assert any(re.fullmatch(r"ExecStart=\S+/netsync (-v )?(--config \S+ )?run", x) for x in lines)


def test_system_unit_has_its_own_user_directories_and_credential() -> None:
    lines = settings(SYSTEM_UNIT)
    for wanted in (
        "DynamicUser=yes",
        "StateDirectory=netsync",
        "ConfigurationDirectory=netsync",
        "LoadCredential=netsync-password:/etc/netsync/password",
    ):
        assert wanted in lines, wanted


def test_timer_starts_the_oneshot_sync() -> None:
    assert "Unit=netsync-sync.service" in settings("netsync.timer")
    assert "Persistent=true" in settings("netsync.timer")
    sync = settings("netsync-sync.service")
    assert "Type=oneshot" in sync
    assert any(re.fullmatch(r"ExecStart=\S+/netsync sync", line) for line in sync)
