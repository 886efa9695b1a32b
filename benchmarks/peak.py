"""Run a Python module as ``python -m`` would, then note this process's peak RSS.

    python benchmarks/peak.py RESULT.json MODULE [ARGS...]

Why not the rusage of the subprocess: Linux records, at exec, the memory high-water mark of
the process image being replaced, so a child spawned by a benchmark that already holds
100 MB reports at least 100 MB whatever it used itself. ``VmHWM`` in /proc/self/status is
the peak of this process's own memory since exec. Standard library only: vdirsyncer's venv
runs it too.
"""

from __future__ import annotations

import json
import runpy
import sys


def peak_rss_kib() -> int:
    """VmHWM of this process (KiB); 0 where /proc is not there."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    code: str | int | None = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = exit_.code
    finally:
        with open(out, "w") as f:
            json.dump({"peak_rss_kib": peak_rss_kib()}, f)
    sys.exit(code)


if __name__ == "__main__":
    main()
