"""A client for the demo target's admin endpoint (server-side faults).

``GET /admin/faults`` reads the fault knobs and ``POST /admin/faults``
changes some of them (loadgen/target/admin.py). Any MCP server that serves
the same two routes can take server-side experiments too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import gevent
from geventhttpclient import HTTPClient

from loadgen.transport.gevent_http import parse_base_url

ADMIN_PATH: Final = "/admin/"
# The admin endpoint answers from memory; five seconds means it is gone.
ADMIN_TIMEOUT_S: Final = 5.0


class AdminError(Exception):
    """The admin endpoint could not be reached or refused the change."""


def admin_url_for(host_url: str) -> str:
    """The admin endpoint beside the MCP endpoint of ``host_url``."""
    scheme, host, port, _ = parse_base_url(host_url)
    return f"{scheme}://{host}:{port}{ADMIN_PATH}"


class AdminClient:
    """Reads and changes the target's fault knobs."""

    def __init__(self, admin_url: str, *, timeout_s: float = ADMIN_TIMEOUT_S) -> None:
        scheme, host, port, path = parse_base_url(admin_url)
        self.url = admin_url
        self._path = path.rstrip("/") + "/faults" if path else "/admin/faults"
        self._client = HTTPClient(
            host,
            port,
            ssl=scheme == "https",
            connection_timeout=timeout_s,
            network_timeout=timeout_s,
            concurrency=1,
        )

    def faults(self) -> dict[str, Any]:
        """The current fault settings."""
        return self._exchange("GET", b"")

    def change(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some knobs; returns the settings now in force."""
        return self._exchange("POST", json.dumps(dict(changes)).encode())

    def close(self) -> None:
        self._client.close()

    def _exchange(self, method: str, body: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        try:
            response = self._client.request(
                method, self._path, body=body, headers=headers
            )
            status, raw = response.status_code, response.read()
        except (OSError, gevent.Timeout) as exc:
            raise AdminError(
                f"the target's admin endpoint {self.url} could not be reached "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        try:
            value = json.loads(raw) if raw else {}
        except ValueError:
            value = {}
        if status != 200 or not isinstance(value, dict):
            raise AdminError(
                f"the target's admin endpoint {self.url} answered {method} with "
                f"{status}: {raw[:200]!r}"
            )
        return value
