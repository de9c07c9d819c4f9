"""From Locust's request event to the recorder.

McpUser puts ``latency_us`` (an integer) and ``outcome`` (an outcome class)
into the event's context (docs/architecture.md); any other Locust user gives
only ``response_time`` in milliseconds and an exception or None, which we
count as ``ok`` or ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadgen.recording.recorder import Recorder

OK = "ok"
ERROR = "error"


class RequestEventListener:
    """A listener for ``events.request`` that feeds one recorder."""

    __slots__ = ("_record",)

    def __init__(self, recorder: Recorder) -> None:
        self._record = recorder.record

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
        else:
            latency_us = outcome = None
        if latency_us is None:
            # Milliseconds as a float; round half up to whole microseconds.
            latency_us = int((response_time or 0.0) * 1000.0 + 0.5)
        if outcome is None:
            outcome = OK if exception is None else ERROR
        self._record(name, latency_us, outcome)
