"""Counters of what the demo target served, by method and by status.

Counting happens on the hot path, so it is a dict increment per request
and nothing else; the snapshot copies the dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from loadgen.target.faults import FaultDecision

# Method names come from clients; counting each distinct string would let a
# fuzzing client grow the table without bound, so unknown ones share a row.
UNKNOWN_METHOD: Final = "(unknown)"
INVALID_MESSAGE: Final = "(invalid)"
REPLY_MESSAGE: Final = "(response)"


@dataclass(frozen=True, slots=True)
class TargetStats:
    """A snapshot of the counters."""

    requests_total: int
    by_method: Mapping[str, int]
    by_status: Mapping[int, int]
    injected_http_errors: int
    injected_jsonrpc_errors: int
    delayed_requests: int
    stalled_requests: int
    sessions_open: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, as GET /admin/stats returns it."""
        return {
            "requests_total": self.requests_total,
            "by_method": dict(sorted(self.by_method.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "injected": {
                "http_errors": self.injected_http_errors,
                "jsonrpc_errors": self.injected_jsonrpc_errors,
                "delayed": self.delayed_requests,
                "stalled": self.stalled_requests,
            },
            "sessions_open": self.sessions_open,
        }


class RequestCounter:
    """Counts requests to the MCP endpoint."""

    def __init__(self, known_methods: frozenset[str]) -> None:
        self._known = known_methods
        self._by_method: dict[str, int] = {}
        self._by_status: dict[int, int] = {}
        self._faults = {"http": 0, "jsonrpc": 0, "delayed": 0, "stalled": 0}

    def method(self, name: str) -> None:
        """Count one message whose method is ``name`` (any client string)."""
        if name not in self._known:
            name = UNKNOWN_METHOD
        self._by_method[name] = self._by_method.get(name, 0) + 1

    def status(self, status: int) -> None:
        self._by_status[status] = self._by_status.get(status, 0) + 1

    def fault(self, decision: FaultDecision) -> None:
        """Count what a fault decision did (called only for real faults)."""
        faults = self._faults
        faults["http"] += decision.http_status is not None
        faults["delayed"] += decision.delay_s > 0
        faults["stalled"] += decision.stalled

    def jsonrpc_fault(self) -> None:
        """Count an injected -32603 that replaced a result."""
        self._faults["jsonrpc"] += 1

    def snapshot(self, sessions_open: int) -> TargetStats:
        faults = self._faults
        return TargetStats(
            requests_total=sum(self._by_status.values()),
            by_method=dict(self._by_method),
            by_status=dict(self._by_status),
            injected_http_errors=faults["http"],
            injected_jsonrpc_errors=faults["jsonrpc"],
            delayed_requests=faults["delayed"],
            stalled_requests=faults["stalled"],
            sessions_open=sessions_open,
        )
