"""Run a server with a call counter (for `calls.py`): `counted.py OUTPUT -m MODULE ARGS...`
or `counted.py OUTPUT SCRIPT ARGS...`.

The counter counts what `sys.setprofile` reports as a "call" (a Python function entered,
a generator or coroutine resumed), by code. SIGUSR2 starts it; the next SIGUSR2 stops it
and writes the counts to OUTPUT as JSON. Only the standard library is imported here, so
the server runs as it would without it.
"""

from __future__ import annotations

import collections
import json
import os
import runpy
import signal
import sys
from pathlib import Path
from types import FrameType


def run_counted(output: Path, command: list[str]) -> None:
    """Run `command` in this process under the counter."""
    counts: collections.Counter[str] = collections.Counter()
    counting = False

    def count(frame: FrameType, event: str, _arg: object) -> None:
        if counting and event == "call":
            code = frame.f_code
            counts[f"{code.co_filename}:{code.co_name}"] += 1

    def toggle(_signal: int, _frame: FrameType | None) -> None:
        nonlocal counting
        if counting:
            output.write_text(json.dumps(counts))
        counts.clear()
        counting = not counting

    signal.signal(signal.SIGUSR2, toggle)
    sys.setprofile(count)
    if command[0] == "-m":
        sys.argv = command[1:]
        sys.path[0] = os.getcwd()  # as `python -m` has it, not this file's folder
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = command
        runpy.run_path(command[0], run_name="__main__")


if __name__ == "__main__":
    run_counted(Path(sys.argv[1]), sys.argv[2:])
