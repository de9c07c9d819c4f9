"""A string that matches a simple regular expression (JSON Schema ``pattern``).

Tool schemas use patterns for identifiers, codes and slugs: literals,
character classes, ``\\d``-style escapes, groups, alternation and the usual
quantifiers. That subset is parsed here into a small tree, and a string is
built from it with each repeat taken as few times as it allows, then a few
more at a time until the length bounds fit. Every result is checked with
``re.search`` before it is returned.

Not supported (``matching_string`` returns None, and synthesis asks the
user for arguments): lookaround, backreferences, Unicode property escapes
(``\\p{...}``) and anything else the parser does not know. Alternation takes
the first branch.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Final

# How many extra repetitions to try before giving up on the length bounds.
MAX_STRETCH: Final = 64

# Characters tried for a class, in order: plain ones first so values read
# like ordinary identifiers.
_CLASS_CANDIDATES: Final = "a1A_- x.z0Z9" + string.printable

# What a class escape stands for, outside and inside brackets.
_ESCAPES: Final = {"d": "1", "w": "a", "s": " ", "D": "a", "W": "-", "S": "a"}
_CONTROL: Final = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_ZERO_WIDTH: Final = frozenset("bBAZz")


class _Unsupported(Exception):
    """The pattern uses syntax outside the subset we build strings for."""


@dataclass(frozen=True, slots=True)
class _Node:
    """One parsed piece: a literal, a sequence, an alternation or a repeat."""

    kind: str  # "lit", "seq", "alt" or "rep"
    text: str = ""
    children: tuple[_Node, ...] = ()
    least: int = 1
    most: int | None = 1

    def build(self, stretch: int) -> str:
        """The string this piece stands for, each repeat ``stretch`` more."""
        if self.kind == "lit":
            return self.text
        if self.kind == "seq":
            return "".join(child.build(stretch) for child in self.children)
        if self.kind == "alt":
            return self.children[0].build(stretch)
        count = self.least + stretch
        if self.most is not None:
            count = min(count, self.most)
        return self.children[0].build(stretch) * count


def matching_string(
    pattern: str, min_length: int = 0, max_length: int | None = None
) -> str | None:
    """A string ``re.search`` finds ``pattern`` in, within the length bounds."""
    try:
        compiled = re.compile(pattern)
        tree = _Parser(pattern).parse()
    except (re.error, _Unsupported):
        return None
    previous = None
    for stretch in range(MAX_STRETCH + 1):
        text = tree.build(stretch)
        if text == previous:
            break  # no repeat can grow further
        previous = text
        if _fits(text, compiled, min_length, max_length):
            return text
    # A pattern unanchored at one end still matches with padding there.
    shortest = tree.build(0)
    for padded in (shortest.ljust(min_length, "x"), shortest.rjust(min_length, "x")):
        if _fits(padded, compiled, min_length, max_length):
            return padded
    return None


def _fits(
    text: str, compiled: re.Pattern[str], min_length: int, max_length: int | None
) -> bool:
    if len(text) < min_length or (max_length is not None and len(text) > max_length):
        return False
    return compiled.search(text) is not None


class _Parser:
    """Recursive descent over the pattern text, one character at a time."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos != len(self.text):
            raise _Unsupported(f"unexpected {self.text[self.pos]!r}")
        return node

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _take(self) -> str:
        char = self._peek()
        if not char:
            raise _Unsupported("the pattern ends early")
        self.pos += 1
        return char

    def _alternation(self) -> _Node:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.pos += 1
            branches.append(self._sequence())
        if len(branches) == 1:
            return branches[0]
        return _Node("alt", children=tuple(branches))

    def _sequence(self) -> _Node:
        items = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._quantified(self._atom()))
        return _Node("seq", children=tuple(items))

    def _atom(self) -> _Node:
        char = self._take()
        if char == "(":
            return self._group()
        if char == "[":
            return _Node("lit", self._class())
        if char == "\\":
            return _Node("lit", self._escape())
        if char == ".":
            return _Node("lit", "a")
        if char in "^$":
            return _Node("lit", "")
        if char in "*+?{}":
            raise _Unsupported(f"{char!r} with nothing to repeat")
        return _Node("lit", char)

    def _group(self) -> _Node:
        if self.text.startswith("?:", self.pos):
            self.pos += 2
        elif self.text.startswith(("?P<", "?<"), self.pos) and not self.text.startswith(
            ("?<=", "?<!"), self.pos
        ):
            self.pos = self.text.index(">", self.pos) + 1
        elif self._peek() == "?":
            raise _Unsupported("lookaround and inline flags")
        node = self._alternation()
        if self._take() != ")":
            raise _Unsupported("an unclosed group")
        return node

    def _escape(self) -> str:
        char = self._take()
        if char in _ESCAPES:
            return _ESCAPES[char]
        if char in _CONTROL:
            return _CONTROL[char]
        if char in _ZERO_WIDTH:
            return ""
        if char in "xu":
            digits = 2 if char == "x" else 4
            code = self.text[self.pos : self.pos + digits]
            self.pos += digits
            return chr(int(code, 16))
        if char.isalnum():
            raise _Unsupported(f"the escape \\{char}")
        return char

    def _class(self) -> str:
        start = self.pos - 1
        if self._peek() == "^":
            self.pos += 1
        if self._peek() == "]":
            self.pos += 1
        while self._peek() != "]":
            if self._take() == "\\":
                self._take()
        self.pos += 1
        members = re.compile(self.text[start : self.pos])
        for char in _CLASS_CANDIDATES:
            if members.fullmatch(char):
                return char
        raise _Unsupported("a class with no plain character in it")

    def _quantified(self, atom: _Node) -> _Node:
        bounds = self._quantifier()
        if bounds is None:
            return atom
        if self._peek() in ("?", "+"):
            self.pos += 1  # lazy or possessive: the same strings match
        least, most = bounds
        return _Node("rep", children=(atom,), least=least, most=most)

    def _quantifier(self) -> tuple[int, int | None] | None:
        char = self._peek()
        simple = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        if char in simple:
            self.pos += 1
            return simple[char]
        if char != "{":
            return None
        match = re.compile(r"\{(\d*)(,?)(\d*)\}").match(self.text, self.pos)
        if match is None or not (match[1] or match[3]):
            raise _Unsupported("a brace that is not a repeat count")
        self.pos = match.end()
        least = int(match[1] or 0)
        if not match[2]:
            return least, least
        return least, int(match[3]) if match[3] else None
