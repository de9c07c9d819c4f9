"""The seam between the aggregator and the SLA inside a Locust process.

The aggregator's Locust plugin owns the aggregator; the SLA only reads it.
The plugin calls :func:`connect_snapshots` once, at Locust's ``init`` event,
with two callables, and the SLA calls them when it needs results.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loadgen.aggregator.results import RunSnapshot

SnapshotProvider = Callable[[], RunSnapshot | None]


@dataclass(frozen=True)
class SnapshotSource:
    """How the SLA reads the aggregator that runs in the Locust master.

    ``live`` returns the run so far (None before the first interval); it is
    called once per report interval, so it must be cheap. ``final`` is called
    once, in Locust's ``quitting`` event: it waits (bounded) for every live
    worker's final interval, marks the run finished and returns it.
    """

    live: SnapshotProvider
    final: SnapshotProvider
    report_interval_s: float = 1.0


_SOURCES: weakref.WeakKeyDictionary[Any, SnapshotSource] = weakref.WeakKeyDictionary()


def connect_snapshots(environment: Any, source: SnapshotSource) -> None:
    """Hand the aggregator's snapshots to the SLA of this Locust environment."""
    _SOURCES[environment] = source


def connected_source(environment: Any) -> SnapshotSource | None:
    return _SOURCES.get(environment)
