"""Garbage-collector pauses of a serving process, with and without `gc.freeze()`.

Run by hand: `.venv/bin/python benchmarks/collector.py [--objects 40000] [--rounds 5]`.

`serve` freezes what start-up built (`gc.freeze()` in `server.py`) so that the
collector's full passes, which stop the event loop, walk only what came later: the
sockets, their rooms and queues. This measures one full pass in a fresh interpreter that
imported everything `serve` imports and then made `--objects` small containers (about
what 1,000 open sockets hold), once with start-up frozen and once without, in
interleaved rounds; it prints the median pause of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PASSES = 15


def pause(objects: int, freeze: bool) -> float:
    """The median full-collection pause, in ms, in this interpreter (after the imports)."""
    import gc  # noqa: PLC0415 - measured in a fresh interpreter, after what serve imports

    import agiletoolbox.cli  # noqa: PLC0415
    import agiletoolbox.containers  # noqa: PLC0415
    import agiletoolbox.server  # noqa: F401, PLC0415

    gc.collect()
    if freeze:
        gc.freeze()
    live = [{"n": n, "pair": [n, str(n)]} for n in range(objects // 2)]
    taken = []
    for _ in range(PASSES):
        started = time.perf_counter()
        gc.collect()
        taken.append(time.perf_counter() - started)
    assert live
    return 1000 * statistics.median(taken)


def main() -> None:
    """Measure both ways in fresh interpreters, interleaved, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", choices=("frozen", "unfrozen"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        print(pause(options.objects, options.measure == "frozen"))
        return
    results: dict[str, list[float]] = {"frozen": [], "unfrozen": []}
    for n in range(options.rounds):
        for kind in ("frozen", "unfrozen") if n % 2 == 0 else ("unfrozen", "frozen"):
            command = [sys.executable, __file__, "--measure", kind]
            command += ["--objects", str(options.objects)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
            results[kind].append(float(done.stdout))
    frozen, unfrozen = (statistics.median(results[k]) for k in ("frozen", "unfrozen"))
    print(f"full collection with {options.objects} live objects, median of {options.rounds}:")
    for kind in ("frozen", "unfrozen"):
        spread = f"{min(results[kind]):.1f}-{max(results[kind]):.1f}"
        print(f"  start-up {kind:<8} {statistics.median(results[kind]):6.1f} ms ({spread})")
    print(f"  frozen / unfrozen: {frozen / unfrozen:.2f}")


if __name__ == "__main__":
    main()
