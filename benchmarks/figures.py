"""The figures of a live benchmark run: the plan, what each window saw, every round's
values, and the report that prints them as ratios of ours to bare.

Each figure is kept per round, (figure, server) -> values, and printed as the median over
the rounds with the spread (min-max), for each server, and ours / bare as a ratio of the
medians. The targets are checked on those medians, ours against bare from the same run.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from benchmarks.load import ROOM_SIZE, THROUGHPUT_ROOMS, Table
from benchmarks.meter import Spent

BARE, OURS, CROSS, SESSION = "bare", "ours", "ours A->B", "ours session"
"""The servers as the report names them; CROSS is ours with voters on A and peers on B;
SESSION is ours with every room held in a refinement session's queue."""


@dataclass(frozen=True)
class Plan:
    """How many rounds, how big and how long each window is."""

    rounds: int
    seconds: float  # each votes/s window
    participants: int
    rates: tuple[float, ...]  # votes/s offered in the latency windows
    latency_seconds: float  # each latency window
    warm_seconds: float  # votes at the window's rate before it, not measured
    repeats: int  # the most times one disturbed window is measured again
    most_repeats: int  # ... and all of them together, so that a busy machine ends the run
    connect_concurrency: int = 50

    @property
    def rooms(self) -> int:
        """Rooms of the latency windows."""
        return self.participants // ROOM_SIZE


FULL = Plan(5, 4.0, 1000, (200.0, 350.0, 500.0), 6.0, 1.0, repeats=2, most_repeats=12)
QUICK = Plan(1, 1.5, 200, (200.0, 350.0, 500.0), 2.0, 0.5, repeats=1, most_repeats=4)


@dataclass(frozen=True)
class Pauses:
    """The garbage collector's passes in a server, from its metrics
    (`agiletoolbox_gc_pause_seconds`): so far, or (subtracted) in a window."""

    passes: int = 0
    long: int = 0  # over 25 ms
    seconds: float = 0.0  # the time they held the process, in all

    def __sub__(self, before: Pauses) -> Pauses:
        return Pauses(
            self.passes - before.passes, self.long - before.long, self.seconds - before.seconds
        )


@dataclass(frozen=True)
class Window:
    """What one measurement window saw."""

    spent: Spent
    votes: int  # votes done (closed loop) or sent (open loop)
    seconds: float
    received: int  # bytes of every message every seat received
    views: int  # full views and patches received
    view_bytes: int
    latencies: tuple[float, ...] = ()
    skipped: int = 0
    pauses: Pauses | None = None  # the collector's passes in the window (ours only)
    unfinished: int = 0

    def percentile(self, share: float) -> float:
        """A latency percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0

    def describe(self) -> str:
        """One line for the window log."""
        server = 1000 * self.spent.per(self.votes)[0]
        if not self.latencies:
            return f"{self.votes / self.seconds:6.0f} votes/s, server {server:.2f} ms/vote"
        pauses = ""
        if self.pauses is not None:
            held = self.pauses
            pauses = f", GC {held.passes} passes {1000 * held.seconds:.0f} ms ({held.long} > 25 ms)"
        return (
            f"p50 {self.percentile(0.5):6.1f} ms, p99 {self.percentile(0.99):6.1f} ms, "
            f"{self.skipped} skipped, server {server:.2f} ms/vote{pauses}"
        )


def window_of(
    tables: list[Table], spent: Spent, votes: int, seconds: float, *, latency: bool
) -> Window:
    """The window's figures from what the tables' tally holds (with latencies, if asked)."""
    tally = tables[0].tally
    latencies = tuple(tally.latencies) if latency else ()
    return Window(spent, votes, seconds, tally.received, tally.views, tally.view_bytes, latencies)


class Samples:
    """Every figure of every round: (figure, server) -> one value per round."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], list[float]] = defaultdict(list)

    def add(self, figure: str, server: str, value: float) -> None:
        """Record one round's value."""
        self.values[figure, server].append(value)

    def of(self, figure: str, server: str) -> list[float]:
        """The values of all rounds (empty when not measured)."""
        return self.values.get((figure, server), [])

    def median(self, figure: str, server: str) -> float:
        """The median over the rounds (NaN when not measured)."""
        values = self.of(figure, server)
        return statistics.median(values) if values else float("nan")


@dataclass
class Quiet:
    """How quiet the machine was: the windows kept, the repeats, what stayed disturbed."""

    threshold: float
    others: list[float] = field(default_factory=list)  # cores, per window kept
    repeats: int = 0
    disturbed: list[str] = field(default_factory=list)


LABEL, COLUMN = 44, 22


def verdict(ok: bool) -> str:
    """How a target line ends."""
    return "ok" if ok else "MISSED"


def cell(values: list[float], digits: int) -> str:
    """The median of the rounds and their spread (min-max): "12.3 (11.0-14.1)"."""
    if not values:
        return "-"
    median = f"{statistics.median(values):.{digits}f}"
    if len(values) == 1:
        return median
    return f"{median} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def ratio(samples: Samples, figure: str, top: str = OURS) -> float:
    """`top`'s median over bare's."""
    bottom = samples.median(figure, BARE)
    return samples.median(figure, top) / bottom if bottom else float("nan")  # 0 or NaN


def row(samples: Samples, label: str, figure: str, servers: tuple[str, ...], digits: int) -> None:
    """One figure: each server's median (spread), then each of ours over bare's."""
    cells = "".join(f"{cell(samples.of(figure, who), digits):>{COLUMN}}" for who in servers)
    for who in servers[1:]:
        share = ratio(samples, figure, who)
        cells += f"{f'{share:.2f}' if math.isfinite(share) else '-':>{len(who) + 7}}"
    print(f"{label:<{LABEL}}{cells}")


def header(title: str, servers: tuple[str, ...]) -> None:
    """The column names of a table of figures: the servers, then the ratios to bare."""
    names = "".join(f"{who:>{COLUMN}}" for who in servers)
    names += "".join(f"{f'{who}/bare':>{len(who) + 7}}" for who in servers[1:])
    print(f"\n{title:<{LABEL}}{names}")


def report(
    plan: Plan,
    samples: Samples,
    quiet: Quiet,
    *,
    quick: bool,
    votes_only: bool,
    load: tuple[float, float],
) -> None:
    """Print every figure as median (spread) for bare and ours, their ratio, the targets."""
    rates = "/".join(f"{rate:g}" for rate in plan.rates)
    print(
        f"\nlive rooms benchmark ({'quick' if quick else 'full'}): "
        f"{os.cpu_count()} cores; {plan.rounds} round(s), bare and ours alternating first; "
        f"votes/s windows {plan.seconds:g} s, {THROUGHPUT_ROOMS} rooms of {ROOM_SIZE}"
        + (
            ""
            if votes_only
            else f"; latency windows {plan.latency_seconds:g} s at {rates} votes/s offered, "
            f"{plan.participants} participants"
        )
    )
    # Other work on the machine shows in every figure: say how busy it was.
    print(f"load average (1 min) before and after the run: {load[0]:.2f}, {load[1]:.2f}")
    others = quiet.others
    disturbed = ", ".join(quiet.disturbed) or "none"
    print(
        f"quiet machine: {len(others)} windows kept, {quiet.repeats} measured again; other "
        f"processes per window: median {statistics.median(others):.2f}, max {max(others):.2f} "
        f"core (threshold {quiet.threshold:.2f}); still disturbed: {disturbed}"
    )
    both = (BARE, OURS)
    voting = (BARE, OURS, SESSION)
    header("medians (min-max) over the rounds", voting)
    rooms = f"{THROUGHPUT_ROOMS} rooms of {ROOM_SIZE}"
    row(samples, f"votes/s, {rooms}, closed loop", "votes/s", voting, 0)
    row(samples, "server CPU per vote, ms", "server ms/vote", voting, 2)
    row(samples, "PostgreSQL CPU per vote, ms", "postgres ms/vote", voting, 2)
    row(samples, "load generator CPU per vote, ms", "generator ms/vote", voting, 2)
    row(samples, "bytes received per vote and recipient", "bytes/recipient", voting, 0)
    row(samples, "bytes per view delivered (view or patch)", "bytes/view", voting, 0)
    if not votes_only:
        row(
            samples,
            "RSS per connected participant (first seating), KB",
            "rss KB/participant",
            both,
            1,
        )
        row(samples, "RSS before each seating, MiB", "rss MiB before seating", both, 0)
        three = (BARE, OURS, CROSS)
        header(f"vote -> 7 peers, {plan.participants} participants", three)
        for rate in plan.rates:
            print(f"{rate:g} votes/s offered")
            row(samples, "  p50, ms", f"p50@{rate:g}", three, 1)
            row(samples, "  p99, ms", f"p99@{rate:g}", three, 1)
            row(samples, "  votes skipped (room still busy)", f"skipped@{rate:g}", three, 0)
            row(samples, "  servers' CPU per vote, ms", f"server ms/vote@{rate:g}", three, 2)
            row(samples, "  collector passes over 25 ms", f"long pauses@{rate:g}", three, 0)
            row(samples, "  collector's pauses in all, ms", f"pause ms@{rate:g}", three, 0)
            if any(samples.of(f"unfinished@{rate:g}", who) != [0] * plan.rounds for who in three):
                row(samples, "  votes never delivered", f"unfinished@{rate:g}", three, 0)
    print(
        f"\ncontext: bare asyncpg upserts/s (concurrency {THROUGHPUT_ROOMS}): "
        f"{cell(samples.of('upserts/s', BARE), 0)}"
    )
    cores = os.cpu_count() or 1
    ceilings = []
    for who in both:
        spent = sum(
            samples.median(f"{part} ms/vote", who) for part in ("server", "postgres", "generator")
        )
        ceilings.append(f"{who} {spent:.2f} ms, at most {1000 * cores / spent:.0f} votes/s")
    print(f"context: all CPU per vote on {cores} cores: " + "; ".join(ceilings))
    targets(samples, plan, votes_only=votes_only)


def targets(samples: Samples, plan: Plan, *, votes_only: bool) -> None:
    """The targets (ours against bare, same run, medians), then the goals."""
    votes, cpu = ratio(samples, "votes/s"), ratio(samples, "server ms/vote")
    in_session = samples.median("server ms/vote", SESSION) / samples.median("server ms/vote", OURS)
    lines: list[tuple[str, str, bool | None]] = [
        ("votes/s >= 1.0 x bare", f"{votes:.2f} x", votes >= 1.0),
        ("server CPU per vote <= 1.2 x bare", f"{cpu:.2f} x", cpu <= 1.2),
        # Noise between two windows of the same work is a few percent: 1.1 tells it apart.
        ("session rooms' CPU per vote <= 1.1 x a room's", f"{in_session:.2f} x", in_session <= 1.1),
    ]
    if not votes_only:
        top = f"{max(plan.rates):g}"
        skipped = max(samples.of(f"skipped@{top}", OURS))
        p99, same = samples.median(f"p99@{top}", OURS), ratio(samples, f"p99@{top}")
        extra = samples.median(f"p99@{top}", CROSS) - p99
        rss = samples.median("rss KB/participant", OURS)
        lines += [
            (f"at {plan.participants} participants and {top} votes/s offered:", "", None),
            ("  no vote skipped", f"{skipped:.0f} (most in a round)", skipped == 0),
            ("  p99 <= 20 ms", f"{p99:.1f} ms", p99 <= 20),
            ("  p99 <= 1.5 x bare's", f"{same:.2f} x", same <= 1.5),
            ("  two processes' p99 <= one process's + 10 ms", f"{extra:+.1f} ms", extra <= 10),
            ("RSS <= 30 KB per connected participant", f"{rss:.1f} KB", rss <= 30),
        ]
    print("\ntargets (ours against bare, same run, medians):")
    for name, value, ok in lines:
        print(f"  {name:<48}{value:>22}  {'' if ok is None else verdict(ok)}".rstrip())
    print("goals (report only):")
    print(f"  {'votes/s >= 1.2 x bare':<48}{f'{votes:.2f} x':>22}")
    print(f"  {'server CPU per vote <= 0.8 x bare':<48}{f'{cpu:.2f} x':>22}")
    print("each round's own ratio, ours over bare (median, min-max; the rounds pair them):")
    for name, figure in (("votes/s", "votes/s"), ("server CPU per vote", "server ms/vote")):
        ratios = paired(samples, figure)
        if ratios:
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"  {name:<48}{f'{statistics.median(ratios):.2f} x ({spread})':>22}")


def paired(samples: Samples, figure: str, top: str = OURS, bottom: str = BARE) -> list[float]:
    """`top` over `bottom` (ours over bare), round by round: each round measures both on
    the same machine moments apart, so its own ratio leaves out the drift between rounds
    that the ratio of the medians takes in."""
    return [
        over / under
        for over, under in zip(samples.of(figure, top), samples.of(figure, bottom), strict=True)
        if under
    ]
