"""The demo MCP target's request handler: MCP over Streamable HTTP, no I/O.

Theory of operation. ``McpTargetHandler.handle`` takes one ``HttpRequest``
and returns one ``TargetResponse``; it never touches a socket or a greenlet,
so tests drive it directly (or through ``InMemoryTransport``) and the gevent
server in ``server.py`` only moves bytes and waits ``delay_s``.

A POST to the endpoint goes through these steps, first failure wins:

1. the fault plan's decision (an injected HTTP error ends it here);
2. HTTP checks: Content-Type application/json (415), Accept naming both
   application/json and text/event-stream (406);
3. one JSON-RPC message, never a batch (400 with a JSON-RPC error);
4. notifications and responses: 202 with no body once their session checks
   out;
5. ``initialize`` opens a session (handshake revisions 2025-03-26 through
   2025-11-25);
6. other requests need a session (missing 400, unknown or expired 404) or,
   without one, the 2026-07-28 envelope in ``params._meta`` with matching
   routing headers (``sessionless.check_envelope``);
7. the method runs; its result, or a JSON-RPC error on HTTP 200, goes back
   as one JSON body or as an SSE stream, per the response mode.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from loadgen import __version__
from loadgen.mcp import revisions
from loadgen.mcp.revisions import SESSIONLESS_REMOVED_METHODS
from loadgen.target import catalog, rpc, sessionless
from loadgen.target.admin import ADMIN_PREFIX, AdminRoutes
from loadgen.target.faults import NO_FAULT, FaultDecision, FaultPlan
from loadgen.target.responses import (
    JSON_TYPE,
    SSE_TYPE,
    ResponseMode,
    Sleep,
    StreamStep,
    TargetResponse,
    empty,
    json_body,
    rpc_error,
    sse_stream,
)
from loadgen.target.sessions import (
    LOG_LEVELS,
    Session,
    SessionStore,
    random_session_id,
)
from loadgen.target.stats import (
    INVALID_MESSAGE,
    REPLY_MESSAGE,
    RequestCounter,
    TargetStats,
)
from loadgen.transport.messages import HttpRequest

SESSION_HEADER: Final = "Mcp-Session-Id"
_SESSION_KEY: Final = "mcp-session-id"
_VERSION_KEY: Final = "mcp-protocol-version"

CAPABILITIES: Final = {
    "tools": {"listChanged": False},
    "resources": {"subscribe": False, "listChanged": False},
    "prompts": {"listChanged": False},
    "logging": {},
}

_NOTIFICATIONS: Final = frozenset(
    {
        "notifications/initialized",
        "notifications/cancelled",
        "notifications/progress",
        "notifications/roots/list_changed",
    }
)


_BAD_PARAMS: Final = rpc.RpcError(rpc.INVALID_PARAMS, "params must be an object")


def _no_wait(seconds: float) -> None:
    """The default sleep: in-process tests run at full speed."""


SERVER_INFO: Final = {"name": catalog.SERVER_NAME, "version": __version__}


class _Reject(Exception):
    """Ends request handling early with a ready response."""

    def __init__(self, response: TargetResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _reject(
    status: int, request_id: rpc.RequestId | None, code: int, message: str
) -> _Reject:
    return _Reject(rpc_error(status, request_id, rpc.RpcError(code, message)))


def _refuse(status: int, message: str, request_id: Any = None) -> _Reject:
    """An HTTP error carrying JSON-RPC -32600 (invalid request)."""
    return _reject(status, request_id, rpc.INVALID_REQUEST, message)


@dataclass(slots=True)
class Call:
    """One JSON-RPC request that passed the HTTP and session checks."""

    request_id: rpc.RequestId
    method: str
    params: dict[str, Any]
    session: Session | None


@dataclass(frozen=True, slots=True)
class Reply:
    """A method's answer: the result plus any events and work time."""

    result: dict[str, Any]
    work_s: float = 0.0
    events: tuple[StreamStep, ...] = ()


class McpTargetHandler:
    """A small MCP server over Streamable HTTP, as a pure function of requests.

    ``page_size`` turns on pagination of the list methods. ``sleep`` is
    called between SSE events for a tool's work time (the gevent server
    passes ``gevent.sleep``); in JSON mode that time is added to
    ``delay_s`` instead. ``progress_step_s`` is the work time per step of
    the ``progress`` tool. ``admin`` serves ``/admin/...`` on the same
    handler.
    """

    def __init__(
        self,
        *,
        path: str = "/mcp",
        response_mode: ResponseMode = ResponseMode.JSON,
        page_size: int | None = None,
        faults: FaultPlan | None = None,
        sleep: Sleep = _no_wait,
        session_ids: Callable[[], str] | None = None,
        progress_step_s: float = 0.0,
        admin: bool = True,
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.path = path
        self.response_mode = ResponseMode(response_mode)
        self.page_size = page_size
        self.faults = faults if faults is not None else FaultPlan()
        self.progress_step_s = progress_step_s
        self._sleep = sleep
        self.sessions = SessionStore(self.faults, session_ids or random_session_id)
        self._methods = self._method_table()
        known = set(self._methods) | _NOTIFICATIONS
        known |= {"initialize", "DELETE", "GET", INVALID_MESSAGE, REPLY_MESSAGE}
        self._counter = RequestCounter(frozenset(known))
        self._admin = AdminRoutes(self.stats, self.faults) if admin else None

    def stats(self) -> TargetStats:
        """Counters of the MCP endpoint since start."""
        return self._counter.snapshot(self.sessions.sweep())

    # Routing ---------------------------------------------------------------

    def handle(self, request: HttpRequest) -> TargetResponse:
        """Answer one HTTP request."""
        path = request.path.partition("?")[0]
        if path == self.path:
            return self._handle_endpoint(request)
        if self._admin is not None and path.startswith(ADMIN_PREFIX):
            return self._admin.handle(request)
        return json_body(404, {"error": f"nothing at {path}"})

    def _handle_endpoint(self, request: HttpRequest) -> TargetResponse:
        decision = self.faults.decide()
        if decision is not NO_FAULT:
            self._counter.fault(decision)
        try:
            response = self._answer(request, decision)
        except _Reject as reject:
            response = reject.response
        response.delay_s += decision.delay_s
        self._counter.status(response.status)
        return response

    def _answer(self, request: HttpRequest, decision: FaultDecision) -> TargetResponse:
        if decision.http_status is not None:
            error = rpc.RpcError(rpc.INTERNAL_ERROR, "injected HTTP error")
            return rpc_error(decision.http_status, None, error)
        headers = {name.lower(): value for name, value in request.headers.items()}
        if request.method == "POST":
            return self._post(headers, request.body, decision)
        if request.method == "DELETE":
            self._counter.method("DELETE")
            return self._delete(headers)
        # No standalone server-to-client stream is offered: GET is 405 too.
        self._counter.method(request.method)
        return empty(405, {"Allow": "POST, DELETE"})

    def _post(
        self, headers: dict[str, str], body: bytes, decision: FaultDecision
    ) -> TargetResponse:
        _check_media_types(headers)
        try:
            message = _parse_message(body)
        except _Reject:
            self._counter.method(INVALID_MESSAGE)
            raise
        method = message.get("method")
        self._counter.method(method if isinstance(method, str) else REPLY_MESSAGE)
        if "id" not in message or method is None:
            return self._accept_notice(headers, message)
        request_id = message["id"]
        if method == "initialize":
            return self._initialize(request_id, _params(message), decision)
        call = self._open_call(headers, message)
        return self._run(call, decision)

    # Sessions --------------------------------------------------------------

    def _open_call(self, headers: dict[str, str], message: dict[str, Any]) -> Call:
        """Check the session (or the sessionless envelope) behind a request."""
        request_id, method = message["id"], message["method"]
        session_id = headers.get(_SESSION_KEY)
        if session_id is not None:
            session = self._live_session(session_id, request_id)
            _check_version_header(headers, revisions.HANDSHAKE_REVISIONS, request_id)
            params = _params(message)
            if params is None:
                raise _Reject(self._respond(request_id, _BAD_PARAMS))
            return Call(request_id, method, params, session)
        if sessionless.wants_envelope(headers, message):
            error = sessionless.check_envelope(headers, message)
            if error is not None:
                raise _Reject(rpc_error(400, request_id, error))
            return Call(request_id, method, message["params"], None)
        _check_version_header(headers, revisions.ALL_REVISIONS, request_id)
        raise _refuse(400, "Missing session ID", request_id)

    def _live_session(self, session_id: str, request_id: Any) -> Session:
        session = self.sessions.find(session_id)
        if session is None:
            raise _refuse(404, "Session not found", request_id)
        return session

    def _accept_notice(
        self, headers: dict[str, str], message: dict[str, Any]
    ) -> TargetResponse:
        """202 for a notification or a response, once its session is known."""
        is_reply = "result" in message or "error" in message
        if "method" not in message and not (is_reply and "id" in message):
            raise _refuse(400, "Not a JSON-RPC message")
        session_id = headers.get(_SESSION_KEY)
        if session_id is not None:
            self._live_session(session_id, None)
        elif not sessionless.wants_envelope(headers, message):
            raise _refuse(400, "Missing session ID")
        return empty(202)

    def _delete(self, headers: dict[str, str]) -> TargetResponse:
        session_id = headers.get(_SESSION_KEY)
        if session_id is None:
            raise _refuse(400, "Missing session ID")
        if not self.sessions.close(session_id):
            raise _refuse(404, "Session not found")
        return empty(200)

    def _initialize(
        self, request_id: Any, params: dict[str, Any] | None, decision: FaultDecision
    ) -> TargetResponse:
        asked = params.get("protocolVersion") if params is not None else None
        if not isinstance(asked, str):
            error = rpc.RpcError(rpc.INVALID_PARAMS, "protocolVersion must be a string")
            return self._respond(request_id, error)
        if decision.jsonrpc_error:
            return self._respond(request_id, self._injected_error())
        revision = negotiate(asked)
        session = self.sessions.open(revision)
        result = {
            "protocolVersion": revision,
            "capabilities": CAPABILITIES,
            "serverInfo": SERVER_INFO,
        }
        headers = {SESSION_HEADER: session.session_id}
        return self._respond(request_id, Reply(result), headers)

    # Methods ---------------------------------------------------------------

    def _run(self, call: Call, decision: FaultDecision) -> TargetResponse:
        if decision.jsonrpc_error:
            return self._respond(call.request_id, self._injected_error())
        method = self._methods.get(call.method)
        if method is None or not self._offered(call):
            error = rpc.RpcError(rpc.METHOD_NOT_FOUND, "Method not found", call.method)
            return self._respond(call.request_id, error)
        try:
            reply = method(call)
        except rpc.RpcError as error:
            return self._respond(call.request_id, error)
        if call.session is None:
            result = sessionless.complete(call.method, reply.result)
            reply = dataclasses.replace(reply, result=result)
        return self._respond(call.request_id, reply)

    @staticmethod
    def _offered(call: Call) -> bool:
        """server/discover exists only without a session; ping and the other
        lifecycle methods only with one (2026-07-28 removed them)."""
        if call.session is not None:
            return call.method != "server/discover"
        return call.method not in SESSIONLESS_REMOVED_METHODS

    def _injected_error(self) -> rpc.RpcError:
        self._counter.jsonrpc_fault()
        return rpc.RpcError(rpc.INTERNAL_ERROR, "injected internal error")

    def _method_table(self) -> dict[str, Callable[[Call], Reply]]:
        return {
            "ping": lambda call: Reply({}),
            "server/discover": lambda call: Reply(discover_result()),
            "tools/list": lambda call: self._page(call, catalog.TOOLS, "tools"),
            "tools/call": self._call_tool,
            "resources/list": lambda call: self._page(
                call, catalog.RESOURCES, "resources"
            ),
            "resources/read": lambda call: Reply(
                catalog.read_resource(call.params.get("uri"))
            ),
            "resources/templates/list": lambda call: self._page(
                call, (), "resourceTemplates"
            ),
            "prompts/list": lambda call: self._page(call, catalog.PROMPTS, "prompts"),
            "prompts/get": lambda call: Reply(
                catalog.get_prompt(
                    call.params.get("name"), call.params.get("arguments")
                )
            ),
            "logging/setLevel": self._set_level,
        }

    def _page(self, call: Call, items: tuple[Any, ...], key: str) -> Reply:
        """One page of a list; ``nextCursor`` when more follow."""
        offset = _decode_cursor(call.params.get("cursor"))
        size = self.page_size if self.page_size is not None else len(items)
        end = offset + size
        result: dict[str, Any] = {key: list(items[offset:end])}
        if end < len(items):
            result["nextCursor"] = f"p{end}"
        return Reply(result)

    def _set_level(self, call: Call) -> Reply:
        level = call.params.get("level")
        if level not in LOG_LEVELS:
            raise rpc.RpcError(rpc.INVALID_PARAMS, f"unknown log level {level!r}")
        if call.session is not None:
            call.session.log_level = level
        return Reply({})

    def _call_tool(self, call: Call) -> Reply:
        params = call.params
        run = catalog.call_tool(params.get("name"), params.get("arguments"))
        if not run.progress_steps or self.response_mode is ResponseMode.JSON:
            work_s = run.work_s + run.progress_steps * self.progress_step_s
            return Reply(run.result, work_s)
        return Reply(run.result, 0.0, self._progress_events(call, run.progress_steps))

    def _progress_events(self, call: Call, steps: int) -> tuple[StreamStep, ...]:
        """Progress notifications (when asked for) and a log line, in order.

        The tool works ``progress_step_s`` before each step; when there is no
        progress token to report with, the waits still happen.
        """
        meta = call.params.get("_meta")
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        events: list[StreamStep] = []
        step_s = self.progress_step_s
        if token is not None:
            for step in range(1, steps + 1):
                params = {"progressToken": token, "progress": step, "total": steps}
                message = rpc.notification_message("notifications/progress", params)
                events.append(StreamStep(message, step_s))
        session = call.session
        if session is None or session.wants_log("info"):
            log = {"level": "info", "logger": "progress", "data": f"{steps} steps"}
            message = rpc.notification_message("notifications/message", log)
            wait_s = 0.0 if token is not None else steps * step_s
            events.append(StreamStep(message, wait_s))
        return tuple(events)

    # Answers ---------------------------------------------------------------

    def _respond(
        self,
        request_id: rpc.RequestId,
        reply: Reply | rpc.RpcError,
        headers: dict[str, str] | None = None,
    ) -> TargetResponse:
        """The answer to a request on HTTP 200, as JSON or as an SSE stream.

        An error skips the work time and events: the method did not run.
        """
        events: tuple[StreamStep, ...] = ()
        if isinstance(reply, rpc.RpcError):
            message = rpc.error_message(request_id, reply)
            work_s = 0.0
        else:
            message = rpc.result_message(request_id, reply.result)
            work_s, events = reply.work_s, reply.events
        if self.response_mode is ResponseMode.JSON:
            response = json_body(200, message, headers)
            response.delay_s = work_s
            return response
        final = StreamStep(message, work_s)
        return sse_stream((*events, final), self._sleep, headers)


# Negotiation and discovery -------------------------------------------------


def negotiate(asked: str) -> str:
    """The handshake revision to answer ``initialize`` with.

    An asked revision we serve by handshake is answered as is; anything else,
    the sessionless 2026-07-28 included, gets the newest handshake revision,
    as the official SDK does.
    """
    if asked in revisions.HANDSHAKE_REVISIONS:
        return asked
    return revisions.HANDSHAKE_REVISIONS[-1]


def discover_result() -> dict[str, Any]:
    """server/discover: the sessionless revisions and what the server offers."""
    info = SERVER_INFO
    return {
        "supportedVersions": list(revisions.SESSIONLESS_REVISIONS),
        "capabilities": CAPABILITIES,
        "serverInfo": info,
        # The official SDK reports serverInfo only here; clients built
        # against it look in _meta, so both places carry it.
        "_meta": {"io.modelcontextprotocol/serverInfo": info},
    }


# Message checks ------------------------------------------------------------


def _check_media_types(headers: dict[str, str]) -> None:
    content_type = headers.get("content-type", "").partition(";")[0]
    if content_type.strip().lower() != JSON_TYPE:
        raise _refuse(415, "Content-Type must be application/json")
    accepted = {
        part.partition(";")[0].strip().lower()
        for part in headers.get("accept", "").split(",")
    }
    if JSON_TYPE not in accepted or SSE_TYPE not in accepted:
        raise _refuse(
            406, "Accept must list both application/json and text/event-stream"
        )


def _reject_constant(name: str) -> None:
    # NaN and Infinity are not JSON; Python's json module accepts them.
    raise ValueError(f"{name} is not valid JSON")


def _parse_message(body: bytes) -> dict[str, Any]:
    """One JSON-RPC message, or a 400 saying what is wrong with the body."""
    try:
        message = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _reject(400, None, rpc.PARSE_ERROR, f"Parse error: {exc}") from exc
    if isinstance(message, list):
        raise _refuse(400, "Batches are not supported: send one")
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise _refuse(400, "Not a JSON-RPC 2.0 message")
    method, request_id = message.get("method"), message.get("id")
    if "method" in message and not isinstance(method, str):
        raise _refuse(400, "method must be a string")
    if "id" in message and (
        isinstance(request_id, bool) or not isinstance(request_id, str | int)
    ):
        raise _refuse(400, "id must be a string or number")
    return message


def _params(message: dict[str, Any]) -> dict[str, Any] | None:
    """The message's params; None when they are not an object."""
    params = message.get("params")
    if params is None:
        return {}
    return params if isinstance(params, dict) else None


def _check_version_header(
    headers: dict[str, str], supported: tuple[str, ...], request_id: Any
) -> None:
    version = headers.get(_VERSION_KEY)
    if version is not None and version not in supported:
        raise _refuse(400, f"Unsupported MCP-Protocol-Version: {version}", request_id)


def _decode_cursor(cursor: Any) -> int:
    if cursor is None:
        return 0
    if isinstance(cursor, str) and cursor[:1] == "p" and cursor[1:].isdecimal():
        return int(cursor[1:])
    raise rpc.RpcError(rpc.INVALID_PARAMS, f"Invalid cursor: {cursor!r}")
