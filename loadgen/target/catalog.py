"""The demo target's tools, resources and prompt, and what each one does.

Every tool has a real JSON Schema ``inputSchema``, and arguments are checked
against it before the tool runs; a violation is JSON-RPC -32602, so a load
generator that sends bad arguments sees it as a protocol-level error rather
than a tool failure it might count as the target's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from loadgen.target.rpc import INVALID_PARAMS, RpcError

SERVER_NAME: Final = "mcp-loadgen-target"

# The upper bound keeps one request from holding a connection for long; the
# load generator measures the target, not how long we can make it wait.
MAX_SLEEP_MS: Final = 1000
MAX_PROGRESS_STEPS: Final = 10


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A tool's outcome: its result, how long it worked, and progress steps.

    ``work_s`` is spent before the result is sent. ``progress_steps`` are
    announced first, as notifications, when the response is an SSE stream.
    """

    result: dict[str, Any]
    work_s: float = 0.0
    progress_steps: int = 0


def _object_schema(
    properties: dict[str, Any], required: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


TOOLS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "echo",
        "description": "Return the given text unchanged.",
        "inputSchema": _object_schema({"text": {"type": "string"}}, ("text",)),
    },
    {
        "name": "add",
        "description": "Add two numbers.",
        "inputSchema": _object_schema(
            {"a": {"type": "number"}, "b": {"type": "number"}}, ("a", "b")
        ),
    },
    {
        "name": "sleep",
        "description": "Wait the given number of milliseconds, then answer.",
        "inputSchema": _object_schema(
            {"ms": {"type": "integer", "minimum": 0, "maximum": MAX_SLEEP_MS}},
            ("ms",),
        ),
    },
    {
        "name": "fail",
        "description": "Answer with a tool error (isError: true).",
        "inputSchema": _object_schema({"message": {"type": "string"}}, ()),
    },
    {
        "name": "progress",
        "description": "Report progress in steps, then answer (SSE mode).",
        "inputSchema": _object_schema(
            {
                "steps": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PROGRESS_STEPS,
                }
            },
            ("steps",),
        ),
    },
)

_TOOLS_BY_NAME: Final = {tool["name"]: tool for tool in TOOLS}

README_TEXT: Final = (
    "This is the mcp-loadgen demo target: a small MCP server used as the\n"
    "thing under load. It has five tools (echo, add, sleep, fail, progress),\n"
    "two resources and one prompt.\n"
)

RESOURCES: Final[tuple[dict[str, Any], ...]] = (
    {
        "uri": "demo://readme",
        "name": "readme",
        "description": "What this server is.",
        "mimeType": "text/plain",
    },
    {
        "uri": "demo://config",
        "name": "config",
        "description": "The server's catalogue sizes, as JSON.",
        "mimeType": "application/json",
    },
)

_RESOURCE_TEXT: Final = {
    "demo://readme": README_TEXT,
    "demo://config": json.dumps(
        {"server": SERVER_NAME, "tools": len(TOOLS), "prompts": 1, "resources": 2},
        sort_keys=True,
    ),
}

PROMPTS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "greet",
        "description": "Ask the model to greet someone.",
        "arguments": [
            {"name": "name", "description": "Who to greet.", "required": True}
        ],
    },
)


# Tools ---------------------------------------------------------------------


def call_tool(name: Any, arguments: Any) -> ToolRun:
    """Check a tools/call's name and arguments, then run the tool."""
    tool = _TOOLS_BY_NAME.get(name) if isinstance(name, str) else None
    if tool is None:
        raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
    if arguments is None:
        arguments = {}
    check_arguments(tool["inputSchema"], arguments)
    return _RUNNERS[name](arguments)


def _text(text: str, *, is_error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def _run_echo(arguments: Mapping[str, Any]) -> ToolRun:
    return ToolRun(_text(arguments["text"]))


def _run_add(arguments: Mapping[str, Any]) -> ToolRun:
    total = arguments["a"] + arguments["b"]
    if not math.isfinite(total):
        raise RpcError(INVALID_PARAMS, "the sum does not fit a JSON number")
    result = _text(json.dumps(total))
    result["structuredContent"] = {"sum": total}
    return ToolRun(result)


def _run_sleep(arguments: Mapping[str, Any]) -> ToolRun:
    ms = arguments["ms"]
    return ToolRun(_text(f"slept {ms} ms"), work_s=ms / 1000.0)


def _run_fail(arguments: Mapping[str, Any]) -> ToolRun:
    message = arguments.get("message", "the fail tool failed, as asked")
    return ToolRun(_text(message, is_error=True))


def _run_progress(arguments: Mapping[str, Any]) -> ToolRun:
    steps = arguments["steps"]
    return ToolRun(_text(f"done in {steps} steps"), progress_steps=steps)


_RUNNERS: Final[dict[str, Callable[[Mapping[str, Any]], ToolRun]]] = {
    "echo": _run_echo,
    "add": _run_add,
    "sleep": _run_sleep,
    "fail": _run_fail,
    "progress": _run_progress,
}


# Resources and prompts -----------------------------------------------------


def read_resource(uri: Any) -> dict[str, Any]:
    """The resources/read result for ``uri``."""
    text = _RESOURCE_TEXT.get(uri) if isinstance(uri, str) else None
    if text is None:
        raise RpcError(INVALID_PARAMS, f"Unknown resource: {uri}", {"uri": uri})
    mime = "text/plain" if uri == "demo://readme" else "application/json"
    return {"contents": [{"uri": uri, "mimeType": mime, "text": text}]}


def get_prompt(name: Any, arguments: Any) -> dict[str, Any]:
    """The prompts/get result for the ``greet`` prompt."""
    if name != "greet":
        raise RpcError(INVALID_PARAMS, f"Unknown prompt: {name}")
    if not isinstance(arguments, dict) or not isinstance(arguments.get("name"), str):
        raise RpcError(INVALID_PARAMS, "prompt greet needs the string argument name")
    text = f"Please greet {arguments['name']} in one short sentence."
    return {
        "description": "A greeting.",
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
    }


# Argument checking: the subset of JSON Schema our own schemas use ----------

_JSON_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda value: isinstance(value, str),
    # bool is an int subclass in Python but never a JSON number.
    "number": lambda value: (
        isinstance(value, int | float) and not isinstance(value, bool)
    ),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
}


def check_arguments(schema: Mapping[str, Any], arguments: Any) -> None:
    """Raise -32602 unless ``arguments`` satisfies one of our tool schemas."""
    if not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, "arguments must be an object")
    properties = schema["properties"]
    for name in schema["required"]:
        if name not in arguments:
            raise RpcError(INVALID_PARAMS, f"missing required argument {name!r}")
    for name, value in arguments.items():
        rule = properties.get(name)
        if rule is None:
            raise RpcError(INVALID_PARAMS, f"unexpected argument {name!r}")
        _check_value(name, rule, value)


def _check_value(name: str, rule: Mapping[str, Any], value: Any) -> None:
    if not _JSON_TYPES[rule["type"]](value):
        raise RpcError(INVALID_PARAMS, f"argument {name!r} must be a {rule['type']}")
    low, high = rule.get("minimum"), rule.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        raise RpcError(
            INVALID_PARAMS, f"argument {name!r} must be in {low}..{high}, got {value}"
        )
