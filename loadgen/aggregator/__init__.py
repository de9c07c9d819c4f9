"""The result aggregator: wire frames in, exact merged results out.

Data flow: ``sender`` (in each worker) -> ``wire`` frames over ZeroMQ ->
``server`` -> ``state.Aggregator`` (exact merge, time series) -> ``results``
(immutable snapshots the SLA evaluator and the reports read). ``hubs`` runs
this in each kind of Locust process; ``loadgen.locust_plugin`` wires it to
Locust's events. docs/results.md describes the read API and the wire schema.
"""

from loadgen.aggregator.results import (
    TOTAL_NAME,
    Completeness,
    IntervalResult,
    LostWorker,
    NameResult,
    ResultSet,
    RunSnapshot,
    TimedEvent,
)
from loadgen.aggregator.state import Aggregator, IngestResult

__all__ = [
    "TOTAL_NAME",
    "Aggregator",
    "Completeness",
    "IngestResult",
    "IntervalResult",
    "LostWorker",
    "NameResult",
    "ResultSet",
    "RunSnapshot",
    "TimedEvent",
]
