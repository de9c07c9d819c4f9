"""HDR recording in every worker process: request event -> recorder -> interval.

``Recorder`` buckets latencies (integer microseconds) into HDR histograms per
request name and counts outcome classes; ``ReportSchedule`` says when an
interval ends; ``RequestEventListener`` feeds the recorder from Locust's
request event. The aggregator (``loadgen.aggregator``) merges the intervals.
"""

from loadgen.recording.adapter import RequestEventListener
from loadgen.recording.histogram import Histogram
from loadgen.recording.layout import DEFAULT_LAYOUT, HdrLayout
from loadgen.recording.recorder import (
    IntervalRecord,
    NameRecord,
    RecordedEvent,
    Recorder,
    UncorrectedLatency,
)
from loadgen.recording.schedule import ReportSchedule, slot_of

__all__ = [
    "DEFAULT_LAYOUT",
    "HdrLayout",
    "Histogram",
    "IntervalRecord",
    "NameRecord",
    "RecordedEvent",
    "Recorder",
    "ReportSchedule",
    "RequestEventListener",
    "UncorrectedLatency",
    "slot_of",
]
