"""Chaos hook decisions and body rewrites, without sockets or sleeping."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from resilience_probe.chaos import (
    UNKNOWN_METHOD_NAME,
    ActiveHooks,
    Hook,
    HookKind,
    Malformation,
    decide_request,
    hook_from_json,
    hook_to_json,
    in_blast_radius,
    malformed_body,
    oversized_body,
)

CALL = json.dumps(
    {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo"}}
).encode()
INITIALIZE = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
).encode()


def draws(*values: float):  # noqa: ANN201
    """A random source that returns the given numbers in turn."""
    it = iter(values)
    return lambda: next(it)


@given(st.integers(min_value=10, max_value=2_000), st.sampled_from([0.1, 0.2, 0.5]))
def test_blast_radius_picks_close_to_its_share_of_any_number_of_users(
    users: int, radius: float
) -> None:
    """Of the first n users, the radius picks its share give or take ln(n) + 1
    (a Kronecker sequence's discrepancy grows with log n, not with n)."""
    picked = sum(in_blast_radius(i, radius) for i in range(users))
    assert abs(picked - radius * users) <= math.log(users + 1) + 1


def test_a_smaller_blast_radius_picks_a_subset_of_a_larger_ones_users() -> None:
    """Radii nest: every user at 10 % is also a user at 20 %."""
    small = {i for i in range(500) if in_blast_radius(i, 0.1)}
    large = {i for i in range(500) if in_blast_radius(i, 0.2)}
    assert small < large


def test_latency_hooks_add_fixed_plus_a_share_of_the_jitter() -> None:
    """fixed 100 ms, jitter 50 ms, uniform draw 0.5: 125 ms."""
    hook = Hook(HookKind.LATENCY, fixed_s=0.1, jitter_s=0.05)
    chaos = decide_request((hook,), draws(0.5))
    assert chaos.delay_s == 0.125
    assert chaos.action is None
    assert chaos.tag == "latency"


def test_a_hook_that_misses_its_draw_does_nothing() -> None:
    """A 10 % hook with a draw of 0.5 leaves the request alone."""
    hook = Hook(HookKind.RESET, probability=0.1)
    assert decide_request((hook,), draws(0.5)).tag == ""


def test_only_the_first_action_that_hits_applies() -> None:
    """Reset and failure both hit: the request gets the reset only."""
    hooks = (Hook(HookKind.RESET), Hook(HookKind.FAILURE))
    chaos = decide_request(hooks, draws())
    assert chaos.action is hooks[0]
    assert chaos.tag == "reset"


def test_intensity_scales_probabilities_and_caps_them_at_one() -> None:
    """A 40 % hook at intensity 0.5 is 20 %; at 5 it is certain."""
    hook = Hook(HookKind.FAILURE, probability=0.4)
    assert hook.scaled(0.5).probability == 0.2
    assert hook.scaled(5.0).probability == 1.0


def test_active_hooks_are_sorted_by_where_they_act() -> None:
    """Transport hooks, the retry storm and session abandonment apart."""
    active = ActiveHooks.of(
        (
            Hook(HookKind.LATENCY),
            Hook(HookKind.RETRY_STORM),
            Hook(HookKind.SESSION_ABANDON),
        )
    )
    assert [h.kind for h in active.transport] == [HookKind.LATENCY]
    assert active.retry_storm is not None and active.session_abandon is not None


def test_invalid_json_cuts_the_body_inside_the_object() -> None:
    """The broken body no longer parses."""
    body = malformed_body(CALL, Malformation.INVALID_JSON)
    assert body is not None and CALL.startswith(body) and len(body) < len(CALL)


def test_invalid_request_makes_the_method_a_number() -> None:
    """method 42 breaks JSON-RPC's rule that a method is a string."""
    body = malformed_body(CALL, Malformation.INVALID_REQUEST)
    assert body is not None and json.loads(body)["method"] == 42


def test_unknown_method_names_a_method_no_server_has() -> None:
    """The id is kept so the client can match the error to its request."""
    message = json.loads(malformed_body(CALL, Malformation.UNKNOWN_METHOD) or b"")
    assert message["method"] == UNKNOWN_METHOD_NAME
    assert message["id"] == 7


def test_invalid_params_replaces_the_params_object_with_a_list() -> None:
    """params must be an object; a list breaks that."""
    message = json.loads(malformed_body(CALL, Malformation.INVALID_PARAMS) or b"")
    assert isinstance(message["params"], list)


def test_session_opening_requests_are_not_rewritten() -> None:
    """initialize stays intact: breaking it stalls the user, not the target."""
    assert malformed_body(INITIALIZE, Malformation.UNKNOWN_METHOD) is None
    assert oversized_body(INITIALIZE, 1 << 20) is None


def test_oversized_pads_the_request_to_the_asked_size() -> None:
    """The padded body is at least the asked size and still a valid request."""
    body = oversized_body(CALL, 100_000)
    assert body is not None and len(body) >= 100_000
    assert json.loads(body)["params"]["name"] == "echo"


def test_hooks_survive_the_trip_to_the_workers() -> None:
    """hook_from_json(hook_to_json(h)) == h."""
    hook = Hook(HookKind.MALFORMED, 0.3, malformation=Malformation.INVALID_PARAMS)
    assert hook_from_json(json.loads(json.dumps(hook_to_json(hook)))) == hook
