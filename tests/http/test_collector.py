"""The garbage collector as `serve` sets it: rarer passes, each one's pause measured."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from agiletoolbox.adapters.http.health import watch_collector
from agiletoolbox.server import COLLECTOR_THRESHOLDS, tune_collector


def passes(generation: int) -> float:
    labels = {"generation": str(generation)}
    return REGISTRY.get_sample_value("agiletoolbox_gc_pause_seconds_count", labels) or 0.0


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds, callbacks = gc.get_threshold(), list(gc.callbacks)
    yield
    gc.set_threshold(*thresholds)
    gc.callbacks[:] = callbacks
    gc.unfreeze()


@pytest.mark.usefixtures("collector")
def test_serving_makes_passes_rarer_and_measures_each() -> None:
    tune_collector()
    # A young pass every 50,000 new objects, not 700: a busy process no longer promotes
    # the rooms it shows, which cost it a 30-110 ms full pass every few seconds.
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    assert COLLECTOR_THRESHOLDS[0] >= 50_000
    before = passes(2)
    gc.collect()
    assert passes(2) == before + 1
    # Asked again (a second `serve` in one process), it measures each pass once.
    watch_collector()
    gc.collect()
    assert passes(2) == before + 2
