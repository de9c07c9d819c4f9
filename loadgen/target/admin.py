"""The admin endpoint: read counters and change fault knobs at run time.

    GET  /admin/stats            counters by method and status, and totals
    GET  /admin/faults           the current fault settings
    POST /admin/faults           change some settings (JSON object body)
    POST /admin/expire-sessions  expire every open session now

Admin requests are never delayed or failed by the fault plan: a test that
sets a stall must still be able to turn it off.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from loadgen.errors import ConfigError
from loadgen.target.faults import FaultPlan
from loadgen.target.responses import TargetResponse, json_body
from loadgen.target.stats import TargetStats
from loadgen.transport.messages import HttpRequest

ADMIN_PREFIX = "/admin/"


class AdminRoutes:
    """Answers requests under ``/admin/``."""

    def __init__(self, stats: Callable[[], TargetStats], faults: FaultPlan) -> None:
        self._stats = stats
        self._faults = faults

    def handle(self, request: HttpRequest) -> TargetResponse:
        path = request.path.partition("?")[0]
        route = (request.method, path.removeprefix(ADMIN_PREFIX))
        if route == ("GET", "stats"):
            return json_body(200, self._stats().as_dict())
        if route == ("GET", "faults"):
            return json_body(200, self._faults.settings.as_dict())
        if route == ("POST", "faults"):
            return self._change_faults(request.body)
        if route == ("POST", "expire-sessions"):
            self._faults.expire_sessions_now()
            return json_body(200, {"generation": self._faults.generation})
        return json_body(404, {"error": f"no admin route {request.method} {path}"})

    def _change_faults(self, body: bytes) -> TargetResponse:
        try:
            changes = _json_object(body)
            self._faults.settings = self._faults.settings.updated(changes)
        except ConfigError as exc:
            return json_body(400, {"error": str(exc)})
        return json_body(200, self._faults.settings.as_dict())


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(
            "the body must be a JSON object", source="POST /admin/faults"
        ) from exc
    if not isinstance(value, dict):
        raise ConfigError("the body must be a JSON object", source="POST /admin/faults")
    return value
