"""Fault knobs for the demo target: latency, errors, stalls, session expiry.

A ``FaultPlan`` answers one question per request: how long to wait before
answering, and whether to answer with an injected error. It never sleeps
itself; the server applies the wait with ``gevent.sleep`` and tests read it
as a number. Time comes from an injected clock (a callable returning
seconds), so tests jump time instead of waiting.

Settings are a frozen ``FaultSettings``; changing knobs while the server
runs swaps the whole object, which is atomic under gevent's cooperative
scheduling (no greenlet switch can happen between reading two fields).
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from loadgen.errors import ConfigError

Clock = Callable[[], float]

_DURATION = re.compile(r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>us|ms|s|m)?")
_UNIT_S: Final = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, None: 1.0}
LATENCY_KINDS: Final = ("none", "fixed", "uniform", "exp")


def parse_duration_s(text: str, *, field: str) -> float:
    """Read ``250us``, ``5ms``, ``1.5s``, ``2m`` or ``0``.

    Only zero may go without a unit: ``fixed:5`` could mean 5 ms as easily
    as 5 s, and guessing wrong turns a latency test into a timeout test.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or (match["unit"] is None and float(match["number"]) != 0):
        raise ConfigError(
            "must be a duration with a unit, such as 250us, 5ms, 1.5s or 2m",
            field=field,
            value=text,
        )
    return float(match["number"]) * _UNIT_S[match["unit"]]


def format_duration(seconds: float) -> str:
    """Write seconds back in the unit a person would pick."""
    if seconds >= 1.0 or seconds == 0.0:
        return f"{seconds:g}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:g}ms"
    return f"{seconds * 1e6:g}us"


@dataclass(frozen=True, slots=True)
class Latency:
    """Added latency per request.

    ``fixed`` waits ``low_s``; ``uniform`` draws from ``low_s..high_s``;
    ``exp`` draws from an exponential distribution whose mean is ``low_s``.
    """

    kind: str = "none"
    low_s: float = 0.0
    high_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in LATENCY_KINDS:
            raise ConfigError(
                f"latency kind must be one of {', '.join(LATENCY_KINDS)}",
                field="latency",
                value=self.kind,
            )
        low_s, high_s = self.low_s, self.high_s
        if not (0 <= low_s < math.inf and 0 <= high_s < math.inf):
            raise ConfigError(
                "latency must be finite and not negative",
                field="latency",
                value=self.text,
            )
        if self.kind == "uniform" and self.high_s < self.low_s:
            raise ConfigError(
                "uniform latency needs min <= max", field="latency", value=self.text
            )

    @classmethod
    def parse(cls, text: str, *, field: str = "latency") -> Latency:
        """Read ``none``, ``fixed:5ms``, ``uniform:1ms:10ms`` or ``exp:5ms``."""
        kind, *values = text.strip().split(":")
        expected = {"none": 0, "fixed": 1, "exp": 1, "uniform": 2}.get(kind)
        if expected is None or len(values) != expected:
            raise ConfigError(
                "latency must be none, fixed:D, uniform:MIN:MAX or exp:MEAN",
                field=field,
                value=text,
            )
        durations = [parse_duration_s(value, field=field) for value in values]
        if kind == "none":
            return cls()
        # fixed and exp carry one duration; uniform carries min and max.
        low_s, high_s = durations[0], durations[-1]
        try:
            return cls(kind, low_s, high_s)
        except ConfigError as exc:
            raise ConfigError(exc.rule, field=field, value=text) from exc

    @property
    def text(self) -> str:
        """The form ``parse`` reads, e.g. ``uniform:1ms:10ms``."""
        if self.kind == "none":
            return "none"
        if self.kind == "uniform":
            low, high = format_duration(self.low_s), format_duration(self.high_s)
            return f"uniform:{low}:{high}"
        return f"{self.kind}:{format_duration(self.low_s)}"

    def sample_s(self, rng: random.Random) -> float:
        """Draw one added latency in seconds."""
        kind = self.kind
        if kind == "none":
            return 0.0
        if kind == "fixed":
            return self.low_s
        if kind == "uniform":
            return rng.uniform(self.low_s, self.high_s)
        if self.low_s == 0.0:
            return 0.0
        return rng.expovariate(1.0 / self.low_s)


NO_LATENCY: Final = Latency()


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """The knobs. Rates are probabilities per request, 0..1."""

    latency: Latency = NO_LATENCY
    error_rate: float = 0.0
    error_status: int = 503
    jsonrpc_error_rate: float = 0.0
    stall_every_s: float = 0.0
    stall_for_s: float = 0.0
    session_ttl_s: float | None = None

    def __post_init__(self) -> None:
        _check_rate("error_rate", self.error_rate)
        _check_rate("jsonrpc_error_rate", self.jsonrpc_error_rate)
        if not 400 <= self.error_status <= 599:
            raise ConfigError(
                "must be an HTTP error status, 400..599",
                field="error_status",
                value=self.error_status,
            )
        self._check_stall()
        ttl = self.session_ttl_s
        if ttl is not None and not ttl > 0:
            raise ConfigError(
                "must be a positive duration", field="session_ttl_s", value=ttl
            )

    def _check_stall(self) -> None:
        every, length = self.stall_every_s, self.stall_for_s
        if not (math.isfinite(every) and math.isfinite(length)):
            raise ConfigError(
                "stall durations must be finite",
                field="stall_every_s",
                value=(every, length),
            )
        if every < 0 or length < 0:
            raise ConfigError(
                "stall durations must not be negative",
                field="stall_every_s" if every < 0 else "stall_for_s",
                value=every if every < 0 else length,
            )
        # A stall as long as its period would never end; with no period the
        # length alone has nothing to repeat.
        if every > 0 and length >= every:
            raise ConfigError(
                "must be shorter than the stall period",
                field="stall_for_s",
                value=length,
            )
        if every == 0 and length > 0:
            raise ConfigError(
                "needs a stall period as well", field="stall_for_s", value=length
            )

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (what /admin/faults returns)."""
        values = dataclasses.asdict(self)
        values["latency"] = self.latency.text
        return values

    def updated(self, changes: Mapping[str, Any]) -> FaultSettings:
        """A copy with ``changes`` applied, as read from an admin JSON body.

        Durations may be numbers of seconds or strings like ``"5ms"``;
        ``session_ttl_s`` may be null to turn the TTL off.
        """
        unknown = sorted(set(changes) - _FIELD_NAMES)
        if unknown:
            raise ConfigError(
                f"unknown fault setting; known: {', '.join(sorted(_FIELD_NAMES))}",
                field=unknown[0],
            )
        parsed = {name: _read_field(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **parsed)


_FIELD_NAMES: Final = frozenset(f.name for f in dataclasses.fields(FaultSettings))


def _check_rate(name: str, rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ConfigError("must be a probability, 0..1", field=name, value=rate)


def _read_field(name: str, value: Any) -> Any:
    """Turn one admin JSON value into the field's Python value."""
    if name == "latency":
        if not isinstance(value, str):
            raise ConfigError("must be a string", field=name, value=value)
        return Latency.parse(value, field=name)
    if name == "session_ttl_s" and value is None:
        return None
    if name.endswith("_s"):
        if isinstance(value, str):
            return parse_duration_s(value, field=name)
        return _number(name, value)
    if name == "error_status":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError("must be an integer", field=name, value=value)
        return value
    return _number(name, value)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError("must be a number", field=name, value=value)
    return float(value)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request.

    ``delay_s`` is the wait before the response starts (stall remainder plus
    added latency). ``http_status`` replaces the answer with that status;
    ``jsonrpc_error`` replaces a request's result with error -32603.
    """

    delay_s: float = 0.0
    stalled: bool = False
    http_status: int | None = None
    jsonrpc_error: bool = False


NO_FAULT: Final = FaultDecision()


class FaultPlan:
    """Decides faults per request from the current settings and the clock.

    Stall windows: with ``stall_every_s = E`` and ``stall_for_s = F``, the
    server stalls during ``[kE, kE + F)`` for k = 1, 2, ... counted from the
    moment the stall knobs were last set, so a fresh server (or a fresh
    setting) first answers normally for ``E`` seconds.

    Session expiry: ``expire_sessions_now`` bumps a generation number; a
    session opened under an older generation is gone. An idle TTL expires a
    session not seen for longer than ``session_ttl_s``.
    """

    def __init__(
        self,
        settings: FaultSettings | None = None,
        *,
        clock: Clock = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self._clock = clock
        self._rng = random.Random(seed)
        self._settings = settings if settings is not None else FaultSettings()
        self._stall_epoch_s = clock()
        self._generation = 0

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: FaultSettings) -> None:
        old = self._settings
        self._settings = settings
        if (old.stall_every_s, old.stall_for_s) != (
            settings.stall_every_s,
            settings.stall_for_s,
        ):
            self._stall_epoch_s = self._clock()

    def now(self) -> float:
        """The plan's clock, in seconds; sessions use it for idle times."""
        return self._clock()

    def decide(self) -> FaultDecision:
        """Draw the faults for one request."""
        settings = self._settings
        stall_s = self.stall_remaining_s()
        rng = self._rng
        status = None
        if settings.error_rate and rng.random() < settings.error_rate:
            status = settings.error_status
        jsonrpc_error = bool(
            settings.jsonrpc_error_rate and rng.random() < settings.jsonrpc_error_rate
        )
        delay_s = stall_s + settings.latency.sample_s(rng)
        if not (delay_s or status or jsonrpc_error):
            return NO_FAULT
        return FaultDecision(delay_s, stall_s > 0, status, jsonrpc_error)

    def stall_remaining_s(self) -> float:
        """Seconds until the current stall ends; 0 when not stalled."""
        every = self._settings.stall_every_s
        if every <= 0:
            return 0.0
        elapsed = self._clock() - self._stall_epoch_s
        if elapsed < every:
            return 0.0
        into_period = elapsed % every
        return max(0.0, self._settings.stall_for_s - into_period)

    # Sessions --------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The session generation; sessions from older ones are expired."""
        return self._generation

    def expire_sessions_now(self) -> None:
        """Expire every session open at this moment."""
        self._generation += 1

    def session_alive(self, generation: int, last_seen_s: float) -> bool:
        """Tell whether a session of ``generation`` last seen then lives on."""
        if generation != self._generation:
            return False
        ttl = self._settings.session_ttl_s
        return ttl is None or self._clock() - last_seen_s <= ttl
