"""CPU meters: for the live benchmark, who spent the CPU of a window, and whether anything
outside the benchmark did; for the in-process ones, the CPU of each step (`per_step`).

Every figure of a window is only as good as the machine was quiet. The meter reads, at
the start and at the end of a window, the CPU time of every process of the machine and
the busy time of all its cores (/proc/stat). Of the processes it sums the servers
measured, the benchmark's other servers, the PostgreSQL processes of the scratch
database's cluster and the load generator; what the cores spent beyond those is "other
processes", and the window is measured again when it is too much (see `live.py`). The
biggest other processes are named, so that a disturbed window says what disturbed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> tuple[str, list[str]]:
    """A process's name and the fields of /proc/PID/stat after it (OSError once gone)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    head, tail = text.rsplit(")", 1)
    return head.split("(", 1)[1], tail.split()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process spent so far; 0 once it is gone."""
    try:
        fields = _stat(pid)[1]
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def processes() -> dict[int, tuple[str, float]]:
    """Every process of the machine: pid -> (name, CPU seconds so far)."""
    found: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                name, fields = _stat(entry)
                found[int(entry)] = name, (int(fields[11]) + int(fields[12])) / TICK
    return found


def machine_busy() -> tuple[float, float]:
    """CPU seconds all cores spent on anything but idling and waiting for I/O so far, and
    of those the time stolen by the hypervisor.

    Steal time counts as busy: a hypervisor running someone else is as much a disturbance
    as a process of this machine.
    """
    with Path("/proc/stat").open() as stat:
        fields = [int(n) for n in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK, steal / TICK


def postgres_pids_of(database: str) -> tuple[int, ...]:
    """The processes of the cluster serving `database`, without other databases' clients.

    The cluster is found by its postmaster, the parent of a backend of `database` (titles
    need not name the cluster, and other clusters may run on the machine); its background
    processes (WAL writer, checkpointer, ...) count, client backends of other databases
    do not.
    """
    mark = f" {urlsplit(database).path.lstrip('/')} "
    family: dict[int, tuple[int, str]] = {}
    for pid in processes():
        with contextlib.suppress(OSError, IndexError, ValueError):
            name, fields = _stat(pid)
            if name == "postgres":
                title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                family[pid] = int(fields[1]), title.replace("\0", " ").strip()
    postmaster = next((parent for parent, title in family.values() if mark in title), None)
    if postmaster is None:
        return ()
    ours = [postmaster]
    for pid, (parent, title) in family.items():
        client = "(" in title or "[local]" in title
        if parent == postmaster and (mark in title or not client):
            ours.append(pid)
    return tuple(ours)


@dataclass(frozen=True)
class Spent:
    """CPU seconds spent in one window, by whom."""

    seconds: float  # the window's wall-clock length
    servers: float  # the servers measured
    postgres: float  # the scratch database's cluster
    generator: float  # the load generator (this process)
    bench: float  # every process of the benchmark: all its servers, PostgreSQL, generator
    machine: float  # every core's busy time
    biggest_others: tuple[tuple[str, float], ...] = ()  # (name, CPU seconds), most first

    @property
    def other_cores(self) -> float:
        """Cores' worth of CPU that processes outside the benchmark took, on average."""
        return max(0.0, self.machine - self.bench) / max(self.seconds, 1e-9)

    def per(self, count: int) -> tuple[float, float, float]:
        """CPU seconds per operation (servers, PostgreSQL, load generator)."""
        count = max(count, 1)
        return self.servers / count, self.postgres / count, self.generator / count

    def others(self) -> str:
        """The biggest other processes, in cores: "pytest 0.52, postgres 0.10"."""
        seconds = max(self.seconds, 1e-9)
        return ", ".join(f"{name} {cpu / seconds:.2f}" for name, cpu in self.biggest_others)


Reading = tuple[float, dict[int, tuple[str, float]], float, tuple[float, float]]
"""Wall clock, every process's (name, CPU seconds), this process's CPU, the machine's."""


class CpuMeter:
    """Measures one window at a time: `start()`, the work, `stop()`."""

    def __init__(self, database: str, measured: tuple[int, ...], tools: tuple[int, ...]) -> None:
        self.database = database
        self.measured = measured
        self.tools = tuple(pid for pid in tools if pid not in measured)
        self._postgres: tuple[int, ...] = ()
        self._start: Reading | None = None

    def _read(self) -> Reading:
        return time.perf_counter(), processes(), time.process_time(), machine_busy()

    def start(self) -> None:
        """Begin a window (the cluster's processes are looked up now, outside it)."""
        self._postgres = postgres_pids_of(self.database)
        self._start = self._read()

    def stop(self) -> Spent:
        """End the window: what each spent in it.

        A process that started within the window (a backend of a pool that grew) counts
        whole; one that ended within it is left out, so its CPU shows as other processes'
        under the name "ended", with what no process accounts for (a tick in an interrupt
        on an idle core). The hypervisor's steal shows as "steal".
        """
        assert self._start is not None, "stop() without start()"
        wall, before, generator, (machine, steal) = self._start
        end_wall, after, end_generator, (end_machine, end_steal) = self._read()
        postgres_pids = {*self._postgres, *postgres_pids_of(self.database)}
        spent = {
            pid: (name, max(0.0, cpu - before.get(pid, (name, 0.0))[1]))
            for pid, (name, cpu) in after.items()
        }

        def total(pids: Iterable[int]) -> float:
            return sum(spent[pid][1] for pid in pids if pid in spent)

        servers, tools, postgres = total(self.measured), total(self.tools), total(postgres_pids)
        generated = end_generator - generator
        bench = servers + tools + postgres + generated
        own = {*self.measured, *self.tools, *postgres_pids, os.getpid()}
        others = sorted((cpu, name) for pid, (name, cpu) in spent.items() if pid not in own)
        busy, stolen = end_machine - machine, end_steal - steal
        ended = busy - stolen - bench - sum(cpu for cpu, _ in others)
        biggest = sorted([*others[-3:], (ended, "ended"), (stolen, "steal")], reverse=True)
        named = tuple((name, cpu) for cpu, name in biggest[:3] if cpu > 0)
        return Spent(end_wall - wall, servers, postgres, generated, bench, busy, named)


async def settle(pids: tuple[int, ...], *, quiet: float = 0.1, most: float = 5.0) -> None:
    """Wait (at most `most` seconds) until the servers are idle, below `quiet` cores.

    A server finishes some work after its sockets close (presence writes and the views
    they send); that work must not land in the next window, the other server's.
    """
    deadline = time.perf_counter() + most
    while time.perf_counter() < deadline:
        before, started = sum(process_cpu(pid) for pid in pids), time.perf_counter()
        await asyncio.sleep(0.3)
        spent = sum(process_cpu(pid) for pid in pids) - before
        if spent / (time.perf_counter() - started) < quiet:
            return


def per_step(step: Callable[[int], object], steps: int, *, warm_up: int) -> float:
    """CPU microseconds of this process per call of `step(n)`, over `steps` calls after
    `warm_up` calls."""
    for n in range(warm_up):
        step(n)
    started = time.process_time()
    for n in range(steps):
        step(n)
    return 1e6 * (time.process_time() - started) / steps
