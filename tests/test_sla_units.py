"""Units of SLA limits: times, ratios, rates and counts, read and written."""

from __future__ import annotations

import pytest

from sla.units import (
    Quantity,
    UnitError,
    format_time,
    format_value,
    parse_count,
    parse_quantity,
    parse_rate,
    parse_ratio,
    parse_time_s,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("90us", 90e-6),
        ("90µs", 90e-6),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("0.5 ms", 0.0005),
        (".5s", 0.5),
        ("1e3ms", 1.0),
    ],
)
def test_times_read_in_every_unit(text: str, seconds: float) -> None:
    """Each time unit converts to seconds."""
    assert parse_time_s(text) == pytest.approx(seconds)


def test_a_bare_number_is_not_a_time() -> None:
    """A latency without a unit is refused rather than guessed."""
    with pytest.raises(UnitError, match="needs a time unit"):
        parse_time_s(250)


def test_an_unknown_time_unit_is_named() -> None:
    """A unit such as "sec" is refused and named in the message."""
    with pytest.raises(UnitError, match="'sec'"):
        parse_time_s("2sec")


@pytest.mark.parametrize(
    ("value", "fraction"),
    [("1%", 0.01), ("0.5%", 0.005), (0.02, 0.02), (0, 0.0), ("100%", 1.0)],
)
def test_ratios_read_as_percent_or_fraction(value: object, fraction: float) -> None:
    """Error rates take "1%" or a plain fraction."""
    assert parse_ratio(value) == pytest.approx(fraction)


def test_a_plain_ratio_above_one_is_refused() -> None:
    """5 is not read as 5 %: the message says how to write a percentage."""
    with pytest.raises(UnitError, match="write 5%"):
        parse_ratio(5)


def test_a_percentage_above_100_is_refused() -> None:
    """More than 100 % of requests cannot fail."""
    with pytest.raises(UnitError, match="100% or less"):
        parse_ratio("150%")


def test_rates_read_plain_or_per_second() -> None:
    """rps limits take 50, 12.5 or "50/s"."""
    assert [parse_rate(50), parse_rate(12.5), parse_rate("50/s")] == [50, 12.5, 50]


def test_counts_must_be_whole() -> None:
    """A count of 1.5 requests is refused."""
    assert parse_count(100) == 100
    with pytest.raises(UnitError, match="whole number"):
        parse_count(1.5)


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}, "fast", "-5ms", "nan"])
def test_values_that_are_not_numbers_are_refused(value: object) -> None:
    """Booleans, lists, words and negative numbers never pass as limits."""
    with pytest.raises(UnitError):
        parse_quantity(value, Quantity.TIME)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.00085, "850us"), (0.01234, "12.34ms"), (0.25, "250ms"), (1.5, "1.5s")],
)
def test_times_format_in_the_shortest_readable_unit(seconds: float, text: str) -> None:
    """Formatting picks us, ms or s by magnitude."""
    assert format_time(seconds) == text


def test_values_format_by_quantity() -> None:
    """Ratios show as percent, rates per second, counts whole, nothing as n/a."""
    assert format_value(0.0125, Quantity.RATIO) == "1.25%"
    assert format_value(42.0, Quantity.RATE) == "42/s"
    assert format_value(7.0, Quantity.COUNT) == "7"
    assert format_value(None, Quantity.TIME) == "n/a"
