"""From Locust's request event to the recorder.

McpUser puts ``latency_us`` (an integer) and ``outcome`` (an outcome class)
into the event's context (docs/architecture.md); any other Locust user gives
only ``response_time`` in milliseconds and an exception or None, which we
count as ``ok`` or ``error``.

Under the open model (loadgen.pacing) the context also holds
``intended_start_s``, the epoch second the schedule meant the request to
start. The latency recorded then counts from that moment (corrected for
coordinated omission): the event's ``start_time`` (the actual send) minus
the intended start, plus the measured latency, which is kept as well as
the uncorrected one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadgen.recording.recorder import Recorder

OK = "ok"
ERROR = "error"


class RequestEventListener:
    """A listener for ``events.request`` that feeds one recorder."""

    __slots__ = ("_record", "_record_paced")

    def __init__(self, recorder: Recorder) -> None:
        self._record = recorder.record
        self._record_paced = recorder.record_paced

    # Every argument Locust passes is named, so only unknown ones (from a
    # newer Locust) land in **_kwargs: building that dict for the usual
    # arguments cost about 0.4 us per request (bench/README.md).
    def __call__(
        self,
        request_type: str = "",
        name: str = "",
        response_time: float | None = 0.0,
        response_length: int = 0,
        response: Any = None,
        context: Mapping[str, Any] | None = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        url: str | None = None,
        **_kwargs: Any,
    ) -> None:
        if context:
            latency_us = context.get("latency_us")
            outcome = context.get("outcome")
            intended_s = context.get("intended_start_s")
        else:
            latency_us = outcome = intended_s = None
        if latency_us is None:
            # Milliseconds as a float; round half up to whole microseconds.
            latency_us = int((response_time or 0.0) * 1000.0 + 0.5)
        if outcome is None:
            outcome = OK if exception is None else ERROR
        if intended_s is None or start_time is None:
            self._record(name, latency_us, outcome)
            return
        # A send before its intended start (clock steps) counts as on time.
        delay_us = max(int((start_time - intended_s) * 1e6 + 0.5), 0)
        self._record_paced(name, latency_us + delay_us, latency_us, outcome)
