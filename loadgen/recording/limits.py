"""What a report may hold: the rules the recorder applies and the wire checks.

The aggregator rejects a whole report that breaks one of these rules, so the
recorder makes what it records fit them first: a request name too long is
cut, an outcome class that is not a lowercase identifier is rewritten into
one, and an event that breaks them is refused when it is recorded (the
caller's fault, raised at once) rather than costing an interval later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

EventValue = str | int | float | bool | None

MAX_NAME_CHARS = 512
EMPTY_NAME = "(empty name)"

OUTCOME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_OUTCOMES_PER_NAME = 32
OTHER_OUTCOME = "other"

EVENT_KIND_PATTERN = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
MAX_EVENT_ATTRS = 32
MAX_ATTR_NAME_CHARS = 64
MAX_ATTR_CHARS = 1_024

# Counters (open-model late and dropped requests, ...) share the event kinds'
# naming rule; a report carries at most this many.
MAX_COUNTERS = 64
INT64_LIMIT = 1 << 63


def clean_name(name: object) -> str:
    """A request name the wire accepts: a string of 1..512 characters."""
    text = name if isinstance(name, str) else str(name)
    if not text:
        return EMPTY_NAME
    if len(text) > MAX_NAME_CHARS:
        return text[: MAX_NAME_CHARS - 3] + "..."
    return text


def clean_outcome(outcome: object) -> str:
    """An outcome class the wire accepts, e.g. ``"HTTP Status"`` -> ``http_status``."""
    text = outcome if isinstance(outcome, str) else str(outcome)
    if OUTCOME_PATTERN.fullmatch(text):
        return text
    text = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    if not text or not text[0].isalpha():
        text = "x_" + text
    return text[:32].rstrip("_") or OTHER_OUTCOME


def check_event(kind: str, attrs: Mapping[str, EventValue]) -> dict[str, EventValue]:
    """The attributes as a plain dict, or ValueError naming the broken rule."""
    if not isinstance(kind, str) or not EVENT_KIND_PATTERN.fullmatch(kind):
        raise ValueError(
            f"event kind {kind!r:.80} must match {EVENT_KIND_PATTERN.pattern}"
        )
    if len(attrs) > MAX_EVENT_ATTRS:
        raise ValueError(f"event {kind!r} has more than {MAX_EVENT_ATTRS} attributes")
    for key, value in attrs.items():
        _check_attr(kind, key, value)
    return dict(attrs)


def _check_attr(kind: str, key: object, value: object) -> None:
    if not isinstance(key, str) or len(key) > MAX_ATTR_NAME_CHARS:
        raise ValueError(f"event {kind!r}: attribute names are strings of <= 64")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError(f"event {kind!r}: attribute {key!r} must be a scalar")
    if isinstance(value, str) and len(value) > MAX_ATTR_CHARS:
        raise ValueError(f"event {kind!r}: attribute {key!r} is over 1024 characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"event {kind!r}: attribute {key!r} must be finite")
    if isinstance(value, int) and not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f"event {kind!r}: attribute {key!r} is out of int64 range")


def check_counter(kind: str, n: int) -> None:
    """ValueError naming the rule when a counter cannot travel in a report."""
    if not isinstance(kind, str) or not EVENT_KIND_PATTERN.fullmatch(kind):
        raise ValueError(
            f"counter kind {kind!r:.80} must match {EVENT_KIND_PATTERN.pattern}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < INT64_LIMIT:
        raise ValueError(f"counter {kind!r}: {n!r:.40} is not a count")
