"""The open model as the options describe it, checked before any load is sent.

``--arrival-rate R`` alone: a constant R requests per second in total.
``--arrival-stages 30s:100,1m:100,30s:0``: stages; with ``--arrival-shape
ramp`` (the default) each ramps linearly from the previous rate (the first
from ``--arrival-rate``, else 0), with ``steps`` each holds its rate. The
schedule ends after the last stage. ``--poisson`` spaces arrivals
randomly (exponential gaps) instead of evenly. Without ``--arrival-rate``
and ``--arrival-stages`` the run is Locust's closed model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from loadgen.errors import ConfigError
from loadgen.pacing.pacer import DEFAULT_DROP_AFTER_S
from loadgen.pacing.profile import (
    RAMP,
    STEP,
    RateProfile,
    Stage,
    parse_duration_s,
    parse_stages,
)

# --arrival-shape names the stages' shape in the plural, as a user reads it.
SHAPE_CHOICES = {"ramp": RAMP, "steps": STEP}


@dataclass(frozen=True)
class OpenModelConfig:
    """What the schedule is: rates in requests per second across all workers."""

    arrival_rate_per_s: float | None
    stages: tuple[Stage, ...] = ()
    poisson: bool = False
    drop_after_s: float = DEFAULT_DROP_AFTER_S

    def profile(self) -> RateProfile:
        """The whole run's rate over time (before it is split per worker)."""
        if self.stages:
            return RateProfile.from_stages(self.stages, self.arrival_rate_per_s or 0.0)
        assert self.arrival_rate_per_s is not None
        return RateProfile.constant(self.arrival_rate_per_s)

    def describe(self) -> str:
        """One line for logs and reports, e.g. ``200/s constant, evenly spaced``."""
        if self.stages:
            start = self.arrival_rate_per_s or 0.0
            parts = [f"from {start:g}/s"] + [_stage_text(s) for s in self.stages]
            rate = "stages " + ", ".join(parts)
        else:
            rate = f"{self.arrival_rate_per_s:g}/s constant"
        spacing = "Poisson arrivals" if self.poisson else "evenly spaced"
        return f"{rate}, {spacing}"


def _stage_text(stage: Stage) -> str:
    verb = "ramp to" if stage.shape == RAMP else "hold"
    return f"{stage.duration_s:g}s {verb} {stage.rate_per_s:g}/s"


def config_from_options(parsed: Any) -> OpenModelConfig | None:
    """The open model the parsed options ask for; None for the closed model.

    Raises ConfigError naming the option, the rule and the value.
    """
    rate = _option(parsed, "arrival_rate", None)
    stages_text = _option(parsed, "arrival_stages", "") or ""
    shape = _option(parsed, "arrival_shape", None)
    poisson = bool(_option(parsed, "poisson", False))
    drop_text = _option(parsed, "arrival_drop_after", None)
    if rate is None and not stages_text:
        _refuse_orphans(shape, poisson, drop_text)
        return None
    stages = _stages(stages_text, shape)
    rate = _rate(rate, alone=not stages)
    drop_after_s = DEFAULT_DROP_AFTER_S
    if drop_text is not None:
        drop_after_s = parse_duration_s(str(drop_text), field="--arrival-drop-after")
        if drop_after_s <= 0:
            raise ConfigError(
                "must be longer than zero",
                field="--arrival-drop-after",
                value=drop_text,
            )
    config = OpenModelConfig(rate, stages, poisson, drop_after_s)
    if config.profile().total_count <= 0:
        raise ConfigError(
            "schedules no request: every stage is at rate 0",
            field="--arrival-stages",
            value=stages_text,
        )
    return config


def _option(parsed: Any, name: str, default: Any) -> Any:
    return getattr(parsed, name, default) if parsed is not None else default


def _refuse_orphans(shape: Any, poisson: bool, drop_text: Any) -> None:
    """Options of the open model given without a schedule are a mistake."""
    for given, flag in (
        (shape is not None, "--arrival-shape"),
        (poisson, "--poisson"),
        (drop_text is not None, "--arrival-drop-after"),
    ):
        if given:
            raise ConfigError(
                "needs --arrival-rate or --arrival-stages (the open model)",
                field=flag,
            )


def _stages(text: str, shape: Any) -> tuple[Stage, ...]:
    if not text:
        if shape is not None:
            raise ConfigError("needs --arrival-stages", field="--arrival-shape")
        return ()
    name = "ramp" if shape is None else str(shape)
    if name not in SHAPE_CHOICES:
        raise ConfigError(
            f"must be one of {', '.join(SHAPE_CHOICES)}",
            field="--arrival-shape",
            value=shape,
        )
    return parse_stages(text, SHAPE_CHOICES[name], field="--arrival-stages")


def _rate(value: Any, *, alone: bool) -> float | None:
    """--arrival-rate: the constant rate (``alone``), or where the first
    ramp starts (which may be zero)."""
    if value is None:
        return None
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = math.nan
    if not math.isfinite(rate) or rate < 0 or (alone and rate == 0):
        raise ConfigError(
            "must be a finite number of requests per second above zero",
            field="--arrival-rate",
            value=value,
        )
    return rate
