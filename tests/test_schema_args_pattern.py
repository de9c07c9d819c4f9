"""Strings for simple regular expressions, and refusals for the rest."""

from __future__ import annotations

import re

import pytest

from loadgen.workload.schema_pattern import matching_string


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"^abc$", "abc"),
        (r"^[a-z]+$", "a"),
        (r"^\d{3}$", "111"),
        (r"^(red|green)$", "red"),
        (r"^x?y*z+$", "z"),
        (r"^[^a]$", "1"),
        (r"^\x41\u0042$", "AB"),
        (r"^(?P<word>\w)\.$", "a."),
    ],
)
def test_shortest_string_is_built(pattern: str, expected: str) -> None:
    """Each repeat is taken as few times as it allows."""
    assert matching_string(pattern) == expected


def test_repeats_grow_to_reach_min_length() -> None:
    """Repeats are stretched until minLength is met."""
    assert matching_string(r"^[a-z]{2,}$", min_length=6) == "aaaaaa"


def test_bounded_repeat_stops_at_its_maximum() -> None:
    """A repeat never goes past its own maximum."""
    assert matching_string(r"^a{1,3}$", min_length=4) is None


def test_max_length_is_respected() -> None:
    """No string longer than maxLength is returned."""
    assert matching_string(r"^abcd$", max_length=3) is None


def test_unanchored_pattern_is_padded() -> None:
    """Padding outside an unanchored match reaches minLength."""
    text = matching_string(r"ab", min_length=5)
    assert text is not None
    assert len(text) == 5
    assert re.search("ab", text)


@pytest.mark.parametrize(
    "pattern",
    [
        r"^(?=.*\d).+$",  # lookahead
        r"^(?<=a)b$",  # lookbehind
        r"^(a)\1$",  # backreference
        r"^\p{L}+$",  # Unicode property (ECMA only)
        r"^(?i)abc$",  # inline flag
        r"[",  # not a regular expression
    ],
)
def test_unsupported_syntax_gives_none(pattern: str) -> None:
    """Syntax outside the subset gives None, never a wrong string."""
    assert matching_string(pattern) is None
