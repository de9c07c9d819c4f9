"""Quantities in SLA files and reports: read "250ms", "1%", "50"; write back.

Every value is held in one canonical unit per quantity, so evaluation never
converts: times in seconds, ratios as fractions (0..1), rates per second,
counts as whole numbers. Parsing raises :class:`UnitError` with the rule the
value broke; the SLA parser adds the file and the field path around it.
"""

from __future__ import annotations

import enum
import math
import re

# Seconds per unit. "m" is minutes: there is no metre in a load test.
TIME_UNITS_S = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}

_NUMBER_WITH_SUFFIX = re.compile(
    r"^\s*(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"\s*(?P<unit>[a-zA-Zµ%/]*)\s*$"
)


class UnitError(ValueError):
    """A value that does not read as the quantity its field needs."""


class Quantity(enum.Enum):
    """What a metric measures, and so which units its limits may use."""

    TIME = "time"
    RATIO = "ratio"
    RATE = "rate"
    COUNT = "count"


def parse_quantity(value: object, quantity: Quantity) -> float:
    """A limit written in an SLA file, in the quantity's canonical unit."""
    if quantity is Quantity.TIME:
        return parse_time_s(value)
    if quantity is Quantity.RATIO:
        return parse_ratio(value)
    if quantity is Quantity.RATE:
        return parse_rate(value)
    return float(parse_count(value))


def _split(value: object) -> tuple[float, str]:
    """(number, unit suffix) of a YAML scalar; the suffix is "" for numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError("must be a number or a number with a unit")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        match = _NUMBER_WITH_SUFFIX.match(value)
        if match is None:
            raise UnitError("must be a number or a number with a unit")
        unit = match.group("unit")
        number = float(value.strip()[: len(value.strip()) - len(unit)])
    if not math.isfinite(number) or number < 0:
        raise UnitError("must be a finite number, zero or more")
    return number, unit


def parse_time_s(value: object) -> float:
    """Seconds from "250ms", "1.5s", "90us", "2m"; a bare number is refused
    because "250" could mean milliseconds or seconds."""
    number, unit = _split(value)
    if not unit:
        raise UnitError("needs a time unit (us, ms, s, m or h), e.g. 250ms")
    if unit not in TIME_UNITS_S:
        raise UnitError(f"unknown time unit {unit!r}; use us, ms, s, m or h")
    return number * TIME_UNITS_S[unit]


def parse_ratio(value: object) -> float:
    """A fraction from "1%", "0.5%" or a plain fraction such as 0.01."""
    number, unit = _split(value)
    if unit == "%":
        if number > 100:
            raise UnitError("a percentage must be 100% or less")
        return number / 100
    if unit:
        raise UnitError(f"unknown unit {unit!r} for a rate of errors; use %")
    if number > 1:
        raise UnitError(
            "a plain number is a fraction from 0 to 1; write 5% for five percent"
        )
    return number


def parse_rate(value: object) -> float:
    """Requests per second from 50, 12.5 or "50/s"."""
    number, unit = _split(value)
    if unit not in ("", "/s"):
        raise UnitError(f"unknown unit {unit!r} for a rate; use a plain number or /s")
    return number


def parse_count(value: object) -> int:
    """A whole number of requests."""
    number, unit = _split(value)
    if unit or not number.is_integer():
        raise UnitError("must be a whole number")
    return int(number)


# Formatting -----------------------------------------------------------------


def _number(value: float) -> str:
    """Four significant digits without exponent notation below 10,000."""
    if abs(value) >= 10_000:
        return f"{value:.0f}"
    return f"{value:.4g}"


def format_time(seconds: float) -> str:
    """The shortest readable unit: "850us", "12.34ms", "1.5s"."""
    if seconds < 1e-3:
        return f"{_number(seconds * 1e6)}us"
    if seconds < 1.0:
        return f"{_number(seconds * 1e3)}ms"
    return f"{_number(seconds)}s"


def format_value(value: float | None, quantity: Quantity) -> str:
    """A canonical value as a person reads it; "n/a" when there is none."""
    if value is None:
        return "n/a"
    if quantity is Quantity.TIME:
        return format_time(value)
    if quantity is Quantity.RATIO:
        return f"{_number(value * 100)}%"
    if quantity is Quantity.RATE:
        return f"{_number(value)}/s"
    return str(int(value))
