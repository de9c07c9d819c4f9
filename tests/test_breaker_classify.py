"""Which outcomes a breaker counts as failures, successes or not at all."""

from __future__ import annotations

import pytest

from loadgen.mcp.outcomes import OK, Outcome, OutcomeClass
from resilience_probe.classify import Classifier, Verdict

C = OutcomeClass


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome(C.TRANSPORT, "reset"),
        Outcome(C.TRANSPORT, "timeout"),
        Outcome(C.HTTP_STATUS, "503"),
        Outcome(C.HTTP_STATUS, "500"),
        Outcome(C.HTTP_STATUS, "429"),
        Outcome(C.HTTP_STATUS, "408"),
        Outcome(C.PROTOCOL, "malformed json"),
        Outcome(C.JSONRPC_ERROR, "-32603"),
        Outcome(C.JSONRPC_ERROR, "-32000"),
    ],
)
def test_the_target_or_network_failing_counts_as_a_failure(outcome: Outcome) -> None:
    """Transport errors, timeouts, 5xx, overload statuses and server errors."""
    assert Classifier()(outcome) is Verdict.FAILURE


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome(C.HTTP_STATUS, "400"),
        Outcome(C.HTTP_STATUS, "404"),
        Outcome(C.HTTP_STATUS, "302"),
        Outcome(C.JSONRPC_ERROR, "-32601"),
        Outcome(C.JSONRPC_ERROR, "-32602"),
        Outcome(C.JSONRPC_ERROR, "-32700"),
        Outcome(C.JSONRPC_ERROR, "-32002"),
        Outcome(C.JSONRPC_ERROR, "-32020"),
        Outcome(C.NOT_PERMITTED, "open"),
    ],
)
def test_the_clients_own_mistakes_are_ignored(outcome: Outcome) -> None:
    """Client-side 4xx, request errors and MCP's client-side codes."""
    assert Classifier()(outcome) is Verdict.IGNORED


def test_ok_is_a_success() -> None:
    """An answered call is a success."""
    assert Classifier()(OK) is Verdict.SUCCESS


@pytest.mark.parametrize("verdict", list(Verdict))
def test_tool_errors_take_the_configured_verdict(verdict: Verdict) -> None:
    """tool_error follows the breaker's tool_errors setting."""
    assert Classifier(verdict)(Outcome(C.TOOL_ERROR)) is verdict
