"""Errors that are the user's to fix: bad files, options and URLs.

The command line turns a ``ConfigError`` into exit code 2 and its message;
the message names the file, the field path, the rule and the value.
"""

from __future__ import annotations

EXIT_CONFIG_ERROR = 2


class ConfigError(Exception):
    """A configuration file, option or URL the user gave is not valid."""

    def __init__(
        self,
        rule: str,
        *,
        source: str = "",
        field: str = "",
        value: object = None,
    ) -> None:
        self.rule = rule
        self.source = source
        self.field = field
        self.value = value
        super().__init__(self._message())

    def _message(self) -> str:
        where = ": ".join(part for part in (self.source, self.field) if part)
        text = f"{where}: {self.rule}" if where else self.rule
        if self.value is not None:
            text += f" (got {self.value!r})"
        return text
