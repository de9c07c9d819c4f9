"""Outcome classes: how one MCP request ended, counted one class at a time.

Every request ends in exactly one outcome. The label is what Locust's
failures table groups on and what the recorder counts, so it holds the class
and one stable detail (a status code, an error code, a short reason) and
never anything that varies per request.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OutcomeClass(enum.StrEnum):
    """Whose fault a finished request is, in the order the issue lists them."""

    OK = "ok"
    # The network's: refused, reset, timeout, DNS and the like.
    TRANSPORT = "transport"
    # The target answered with an HTTP status we did not expect (3xx, 4xx, 5xx).
    HTTP_STATUS = "http_status"
    # The target broke the protocol: content type, JSON, SSE, ids, shapes.
    PROTOCOL = "protocol"
    # A well-formed JSON-RPC error response: data to count, not an exception.
    JSONRPC_ERROR = "jsonrpc_error"
    # tools/call answered with isError: true on HTTP 200.
    TOOL_ERROR = "tool_error"
    # Never sent: the user's circuit breaker refused the call (ours, by
    # design). Counted apart so a refusal is neither a success nor a
    # failure of the target.
    NOT_PERMITTED = "not_permitted"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request's outcome: its class and a stable detail."""

    cls: OutcomeClass
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.cls is OutcomeClass.OK

    @property
    def label(self) -> str:
        """The stable text Locust groups failures by, e.g. ``http_status 503``."""
        if not self.detail:
            return self.cls.value
        return f"{self.cls.value} {self.detail}"


OK = Outcome(OutcomeClass.OK)


class McpFailure(Exception):
    """A failed MCP request, as reported to Locust's request event.

    Its text is the outcome label, so Locust's failures table shows one row
    per (request name, outcome) and never one row per request.
    """

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.label)
        self.outcome = outcome

    def __reduce__(self) -> tuple[type[McpFailure], tuple[Outcome]]:
        return (type(self), (self.outcome,))
