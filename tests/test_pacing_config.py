"""The open model's options: what they build, and what they refuse."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from loadgen.errors import ConfigError
from loadgen.pacing.config import OpenModelConfig, config_from_options
from loadgen.pacing.profile import RAMP, STEP, Stage


def options(**given: object) -> SimpleNamespace:
    defaults: dict[str, object] = {
        "arrival_rate": None,
        "arrival_stages": "",
        "arrival_shape": None,
        "poisson": False,
        "arrival_drop_after": None,
    }
    return SimpleNamespace(**{**defaults, **given})


def test_no_arrival_options_mean_the_closed_model() -> None:
    """Without --arrival-rate or --arrival-stages there is no open model."""
    assert config_from_options(options()) is None
    assert config_from_options(None) is None


def test_an_arrival_rate_alone_is_a_constant_schedule() -> None:
    """--arrival-rate 200 is 200/s for ever, evenly spaced."""
    config = config_from_options(options(arrival_rate=200.0))
    assert config == OpenModelConfig(200.0)
    assert config.profile().rate_at(1_000.0) == 200.0
    assert config.describe() == "200/s constant, evenly spaced"


def test_stages_ramp_from_the_arrival_rate() -> None:
    """The first ramp starts at --arrival-rate and the schedule then ends."""
    config = config_from_options(
        options(arrival_rate=10.0, arrival_stages="10s:110", poisson=True)
    )
    assert config is not None
    assert config.stages == (Stage(10.0, 110.0, RAMP),)
    assert config.profile().rate_at(5.0) == pytest.approx(60.0)
    assert config.profile().end_s == 10.0
    assert config.describe() == "stages from 10/s, 10s ramp to 110/s, Poisson arrivals"


def test_the_steps_shape_holds_each_rate() -> None:
    """--arrival-shape steps makes every stage a step."""
    config = config_from_options(options(arrival_stages="5s:50", arrival_shape="steps"))
    assert config is not None and config.stages == (Stage(5.0, 50.0, STEP),)


def test_stages_may_ramp_down_from_the_arrival_rate_to_zero() -> None:
    """A single stage to 0/s from --arrival-rate 100 is a ramp down."""
    config = config_from_options(options(arrival_rate=100.0, arrival_stages="10s:0"))
    assert config is not None
    assert config.profile().total_count == pytest.approx(500.0)


def test_drop_after_is_read_as_a_duration() -> None:
    """--arrival-drop-after 2s bounds lateness at 2 s."""
    config = config_from_options(options(arrival_rate=5.0, arrival_drop_after="2s"))
    assert config is not None and config.drop_after_s == 2.0


@pytest.mark.parametrize(
    ("given", "flag"),
    [
        ({"poisson": True}, "--poisson"),
        ({"arrival_shape": "steps"}, "--arrival-shape"),
        ({"arrival_drop_after": "5s"}, "--arrival-drop-after"),
        ({"arrival_rate": 0.0}, "--arrival-rate"),
        ({"arrival_rate": float("inf")}, "--arrival-rate"),
        ({"arrival_rate": -1.0}, "--arrival-rate"),
        ({"arrival_stages": "10s:0,5s:0"}, "--arrival-stages"),
        ({"arrival_stages": "10s:5", "arrival_shape": "zigzag"}, "--arrival-shape"),
        ({"arrival_rate": 5.0, "arrival_drop_after": "0s"}, "--arrival-drop-after"),
        ({"arrival_rate": 5.0, "arrival_drop_after": "5"}, "--arrival-drop-after"),
    ],
)
def test_a_bad_option_is_refused_by_name(given: dict[str, object], flag: str) -> None:
    """Each mistake raises ConfigError naming the option it is about."""
    with pytest.raises(ConfigError) as raised:
        config_from_options(options(**given))
    assert raised.value.field == flag
