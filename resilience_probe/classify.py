"""Which call outcomes a circuit breaker counts as failures.

A breaker protects the target from a client that keeps calling while the
target cannot answer, so it counts what the target or the network did
wrong and ignores what the client itself did wrong:

    ok                                          success
    transport (refused, reset, timeout, ...)    failure
    http_status 5xx, 408, 429                   failure: down or shedding load
    http_status other 4xx, 3xx                  ignored: the request was wrong
    protocol                                    failure: the target broke MCP
    jsonrpc_error -32603, -32000..-32099        failure: server errors
    jsonrpc_error -32700..-32600                ignored: the request was wrong
    tool_error                                  configurable; success by default
    not_permitted                               ignored: it never went out

MCP puts some errors about the client's request in JSON-RPC's server
range: -32002 (resource not found, spec "Resources"), -32020 and -32022
(the 2026-07-28 routing-header and revision errors) and -32042 (URL
elicitation required). Those are ignored like -32602.

The user's own cancellation (``GreenletExit`` while a call is in flight)
never reaches the classifier: the caller releases the permit instead.
"""

from __future__ import annotations

import enum
from typing import Final

from loadgen.mcp.outcomes import Outcome, OutcomeClass


class Verdict(enum.Enum):
    """How one outcome counts in a breaker's window."""

    SUCCESS = "success"
    FAILURE = "failure"
    IGNORED = "ignored"


# HTTP statuses below 500 that still say the target cannot serve now.
OVERLOAD_STATUSES: Final = frozenset({408, 429})

# JSON-RPC 2.0 section 5.1: -32603 internal error; -32000..-32099 reserved
# for implementation-defined server errors.
INTERNAL_ERROR: Final = -32603
SERVER_RANGE: Final = range(-32099, -32000 + 1)
MCP_CLIENT_SIDE_CODES: Final = frozenset({-32002, -32020, -32022, -32042})

TOOL_ERROR_CHOICES: Final = ("success", "failure", "ignored")


class Classifier:
    """Outcome -> verdict, with a cache: outcomes repeat, labels are few."""

    __slots__ = ("_cache", "tool_errors")

    def __init__(self, tool_errors: Verdict = Verdict.SUCCESS) -> None:
        self.tool_errors = tool_errors
        self._cache: dict[Outcome, Verdict] = {}

    def __call__(self, outcome: Outcome) -> Verdict:
        verdict = self._cache.get(outcome)
        if verdict is None:
            verdict = self._cache[outcome] = self._judge(outcome)
        return verdict

    def _judge(self, outcome: Outcome) -> Verdict:
        cls = outcome.cls
        if cls is OutcomeClass.OK:
            return Verdict.SUCCESS
        if cls is OutcomeClass.TOOL_ERROR:
            return self.tool_errors
        if cls is OutcomeClass.NOT_PERMITTED:
            return Verdict.IGNORED
        if cls is OutcomeClass.HTTP_STATUS:
            return _http_status_verdict(outcome.detail)
        if cls is OutcomeClass.JSONRPC_ERROR:
            return _jsonrpc_verdict(outcome.detail)
        # transport, protocol, and any class a later version adds.
        return Verdict.FAILURE


def _http_status_verdict(detail: str) -> Verdict:
    if not detail.isdigit():
        return Verdict.FAILURE
    status = int(detail)
    if status >= 500 or status in OVERLOAD_STATUSES:
        return Verdict.FAILURE
    return Verdict.IGNORED


def _jsonrpc_verdict(detail: str) -> Verdict:
    try:
        code = int(detail)
    except ValueError:
        return Verdict.FAILURE
    if code in MCP_CLIENT_SIDE_CODES:
        return Verdict.IGNORED
    if code == INTERNAL_ERROR or code in SERVER_RANGE:
        return Verdict.FAILURE
    return Verdict.IGNORED


def tool_error_verdict(choice: str) -> Verdict:
    """The verdict for tool errors from its option text."""
    return Verdict(choice)
