"""Chaos hooks inside the simulated users: what each does, and to whom.

Each hook has a probability per request (or per call) and belongs to an
experiment with a blast radius: the share of users it applies to, chosen by
user index so that the other users form a control group. Hooks act in one
of three places:

- in the transport, per HTTP request (:mod:`resilience_probe.chaos_transport`):
  ``latency`` (fixed plus jitter, before sending), ``failure`` (a client-side
  failure: nothing is sent), ``reset`` (half the request, then a TCP reset),
  ``abandon`` (the request is sent and its answer never read), ``slow_send``
  (the request trickles out over ``send_s``), ``malformed`` (invalid JSON,
  invalid request, unknown method, invalid params) and ``oversized`` (the
  request padded to ``size_bytes``);
- around one workload call (:mod:`resilience_probe.guard`): ``retry_storm``
  (a failed call is sent again at once, up to ``retries`` times) and
  ``session_abandon`` (the session is dropped without DELETE and a new one
  opened);
- at the user's stop: ``session_abandon`` also skips the final DELETE.

This module is pure: decisions take a random source, and request bodies
are rewritten as bytes. Nothing here sleeps or touches a socket.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

Draw = Callable[[], float]

# The fractional part of i * (golden ratio - 1): a low-discrepancy sequence,
# so the first n users hold close to radius * n affected users for every n,
# and a smaller radius picks a subset of a larger one's users.
_GOLDEN: Final = (math.sqrt(5.0) - 1.0) / 2.0

# Requests that open a session are left alone by body rewrites: breaking
# them stalls the user instead of testing the target's validation.
SESSION_METHODS: Final = frozenset({"initialize", "server/discover"})

UNKNOWN_METHOD_NAME: Final = "chaos/no_such_method"


class HookKind(enum.StrEnum):
    LATENCY = "latency"
    FAILURE = "failure"
    RESET = "reset"
    ABANDON = "abandon"
    SLOW_SEND = "slow_send"
    MALFORMED = "malformed"
    OVERSIZED = "oversized"
    SESSION_ABANDON = "session_abandon"
    RETRY_STORM = "retry_storm"


TRANSPORT_KINDS: Final = frozenset(
    {
        HookKind.LATENCY,
        HookKind.FAILURE,
        HookKind.RESET,
        HookKind.ABANDON,
        HookKind.SLOW_SEND,
        HookKind.MALFORMED,
        HookKind.OVERSIZED,
    }
)


class Malformation(enum.StrEnum):
    INVALID_JSON = "invalid_json"
    INVALID_REQUEST = "invalid_request"
    UNKNOWN_METHOD = "unknown_method"
    INVALID_PARAMS = "invalid_params"


@dataclass(frozen=True, slots=True)
class Hook:
    """One chaos hook and its knobs (only its kind's knobs matter)."""

    kind: HookKind
    probability: float = 1.0
    fixed_s: float = 0.0
    jitter_s: float = 0.0
    # abandon: how long the unread connection stays open.
    hold_s: float = 5.0
    # slow_send: how long sending the request takes, in `pieces` parts.
    send_s: float = 1.0
    pieces: int = 10
    malformation: Malformation = Malformation.UNKNOWN_METHOD
    # oversized: 1 MiB stays under the demo target's 8 MiB body limit, so
    # the target parses it; raise it past a server's limit to test a 413.
    size_bytes: int = 1 << 20
    retries: int = 5

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within 0..1: {self.probability}")

    def scaled(self, intensity: float) -> Hook:
        """The hook with its probability multiplied by ``intensity`` (<= 1)."""
        return replace(self, probability=min(self.probability * intensity, 1.0))

    def latency_s(self, draw: Draw) -> float:
        """One injected latency: fixed plus a uniform share of the jitter."""
        return self.fixed_s + self.jitter_s * draw()


@dataclass(frozen=True, slots=True)
class ActiveHooks:
    """The hooks one user applies now, sorted by where they act."""

    transport: tuple[Hook, ...] = ()
    retry_storm: Hook | None = None
    session_abandon: Hook | None = None

    @classmethod
    def of(cls, hooks: tuple[Hook, ...]) -> ActiveHooks:
        transport = tuple(h for h in hooks if h.kind in TRANSPORT_KINDS)
        return cls(
            transport,
            _first(hooks, HookKind.RETRY_STORM),
            _first(hooks, HookKind.SESSION_ABANDON),
        )

    @property
    def empty(self) -> bool:
        return not (self.transport or self.retry_storm or self.session_abandon)


NO_HOOKS: Final = ActiveHooks()


def hook_to_json(hook: Hook) -> dict[str, Any]:
    """A hook as plain values, for the master's message to its workers."""
    return {
        f.name: (v.value if isinstance(v, enum.Enum) else v)
        for f in dataclasses.fields(hook)
        for v in (getattr(hook, f.name),)
    }


def hook_from_json(data: Mapping[str, Any]) -> Hook:
    """The hook :func:`hook_to_json` wrote."""
    values = dict(data)
    values["kind"] = HookKind(values["kind"])
    values["malformation"] = Malformation(
        values.get("malformation", Malformation.UNKNOWN_METHOD)
    )
    return Hook(**values)


def _first(hooks: tuple[Hook, ...], kind: HookKind) -> Hook | None:
    return next((h for h in hooks if h.kind is kind), None)


def in_blast_radius(user_index: int, radius: float) -> bool:
    """Whether the user with this index is among the ``radius`` share."""
    if radius >= 1.0:
        return True
    return (user_index * _GOLDEN) % 1.0 < radius


def hits(hook: Hook, draw: Draw) -> bool:
    """One Bernoulli draw with the hook's probability."""
    p = hook.probability
    return p >= 1.0 or (p > 0.0 and draw() < p)


@dataclass(frozen=True, slots=True)
class RequestChaos:
    """What to do to one HTTP request: wait first, then maybe one action."""

    delay_s: float = 0.0
    action: Hook | None = None
    # The hook names to tag the request with, e.g. "latency+reset".
    tag: str = ""


NO_CHAOS: Final = RequestChaos()


def decide_request(hooks: tuple[Hook, ...], draw: Draw) -> RequestChaos:
    """Draw each transport hook; latencies add up, the first other hit acts."""
    delay_s = 0.0
    action: Hook | None = None
    tags: list[str] = []
    for hook in hooks:
        if not hits(hook, draw):
            continue
        if hook.kind is HookKind.LATENCY:
            delay_s += hook.latency_s(draw)
        elif action is None:
            action = hook
        else:
            continue
        tags.append(hook.kind.value)
    if not tags:
        return NO_CHAOS
    return RequestChaos(delay_s, action, "+".join(tags))


class UserChaos:
    """One user's chaos state: hooks active now, and the last injection.

    The experiment driver replaces the hooks with :meth:`apply` (whole
    tuples, so a reader never sees half a change); the transport reads them
    per request and sets ``injected`` when it acted, which the user's next
    record carries as its tag. ``affected`` says whether the user is in the
    largest blast radius of the run, so its requests are named apart.
    """

    __slots__ = (
        "affected",
        "index",
        "injected",
        "retry_storm",
        "session_abandon",
        "transport_hooks",
    )

    def __init__(self, index: int, affected: bool) -> None:
        self.index = index
        self.affected = affected
        self.transport_hooks: tuple[Hook, ...] = ()
        self.retry_storm: Hook | None = None
        self.session_abandon: Hook | None = None
        self.injected = ""

    def apply(self, active: ActiveHooks) -> None:
        """Switch to the hooks of the experiments active now."""
        self.transport_hooks = active.transport
        self.retry_storm = active.retry_storm
        self.session_abandon = active.session_abandon


# Body rewrites --------------------------------------------------------------------


def _request_message(body: bytes) -> dict[str, Any] | None:
    """The JSON-RPC request in a body, unless it opens a session or is not one."""
    if not body:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or "id" not in message:
        return None
    if message.get("method") in SESSION_METHODS or "method" not in message:
        return None
    return message


def malformed_body(body: bytes, how: Malformation) -> bytes | None:
    """The body broken as asked; None when it is not a request to break."""
    message = _request_message(body)
    if message is None:
        return None
    if how is Malformation.INVALID_JSON:
        # Cut inside the object: a parser must fail, not read a prefix.
        return body[: max(len(body) // 2, 1)]
    if how is Malformation.INVALID_REQUEST:
        message["method"] = 42
    elif how is Malformation.UNKNOWN_METHOD:
        message["method"] = UNKNOWN_METHOD_NAME
    else:
        message["params"] = ["params", "must", "be", "an", "object"]
    return json.dumps(message, separators=(",", ":")).encode()


def oversized_body(body: bytes, size_bytes: int) -> bytes | None:
    """The request padded (in params._meta) to about ``size_bytes``."""
    message = _request_message(body)
    if message is None:
        return None
    params = message.get("params")
    params = dict(params) if isinstance(params, dict) else {}
    meta = dict(params.get("_meta") or {})
    meta["chaos/padding"] = "x" * max(size_bytes - len(body), 0)
    params["_meta"] = meta
    message["params"] = params
    return json.dumps(message, separators=(",", ":")).encode()
