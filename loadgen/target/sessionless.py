"""The sessionless revision (2026-07-28): each request carries its envelope.

Without initialize there is no session: every request names its revision
and the client's capabilities in ``params._meta``, and mirrors the routing
facts into HTTP headers (``MCP-Protocol-Version``, ``Mcp-Method``, and
``Mcp-Name`` for the methods that name a tool, prompt or resource) so that
proxies can route without reading the body.

The checks run in the order the official SDK runs them, first failure wins:
envelope keys present (-32602), headers agree with the body (-32020), the
revision is one we serve (-32022). All are answered with HTTP 400.

Results under this revision carry ``resultType`` and, for cacheable
methods, ``cacheScope`` and ``ttlMs`` (``complete``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Final

from loadgen.mcp import revisions
from loadgen.target import rpc

# 2026-07-28 schema: results of these methods are CacheableResults.
CACHEABLE_METHODS: Final = frozenset(
    {
        "prompts/list",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "server/discover",
        "tools/list",
    }
)

_B64_SENTINEL: Final = re.compile(r"=\?base64\?(?P<payload>[A-Za-z0-9+/=]*)\?=")


def wants_envelope(headers: Mapping[str, str], message: Mapping[str, Any]) -> bool:
    """Tell whether a request without a session id asks to go sessionless.

    Either signal is enough: a sessionless version header, or an envelope
    version of any value (so a client of a later revision hears which ones
    we serve, -32022, rather than that it lacks a session). The rest is
    checked by ``check_envelope``.
    """
    if headers.get("mcp-protocol-version") in revisions.SESSIONLESS_REVISIONS:
        return True
    return revisions.META_PROTOCOL_VERSION in _meta(message)


def check_envelope(
    headers: Mapping[str, str], message: Mapping[str, Any]
) -> rpc.RpcError | None:
    """The first thing wrong with a sessionless request, or None."""
    params = message.get("params")
    if not isinstance(params, dict):
        params = {}
    meta = params.get("_meta")
    if not isinstance(meta, dict):
        return rpc.RpcError(
            rpc.INVALID_PARAMS,
            "params._meta must be an object carrying the envelope keys "
            f"{revisions.META_PROTOCOL_VERSION} and "
            f"{revisions.META_CLIENT_CAPABILITIES}",
        )
    required = (revisions.META_PROTOCOL_VERSION, revisions.META_CLIENT_CAPABILITIES)
    missing = [key for key in required if key not in meta]
    if missing:
        return rpc.RpcError(
            rpc.INVALID_PARAMS,
            f"params._meta is missing the envelope key(s): {', '.join(missing)}",
        )
    version = meta[revisions.META_PROTOCOL_VERSION]
    mismatch = _header_mismatch(headers, message, params, version)
    if mismatch is not None:
        return rpc.RpcError(rpc.HEADER_MISMATCH, mismatch)
    if version not in revisions.SESSIONLESS_REVISIONS:
        return rpc.RpcError(
            rpc.UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
            {"supported": list(revisions.SESSIONLESS_REVISIONS), "requested": version},
        )
    return None


def _header_mismatch(
    headers: Mapping[str, str],
    message: Mapping[str, Any],
    params: Mapping[str, Any],
    version: Any,
) -> str | None:
    """Which routing header disagrees with the body, if any."""
    if headers.get("mcp-protocol-version") != version:
        return "MCP-Protocol-Version header does not match params._meta"
    method = message.get("method")
    if headers.get("mcp-method") != method:
        return "Mcp-Method header does not match the method"
    name_key = revisions.NAME_BEARING_PARAMS.get(method) if method else None
    if name_key is None:
        return None
    named = params.get(name_key)
    if named is not None and decode_header_value(headers.get("mcp-name")) != named:
        return f"Mcp-Name header does not match params.{name_key}"
    return None


def complete(method: str, result: dict[str, Any]) -> dict[str, Any]:
    """Add the fields 2026-07-28 requires of a final result.

    Every result names its type; list, read and discover results also carry
    cache hints. ``ttlMs`` 0 (stale at once) keeps clients from caching, so
    a load test's requests reach the server.
    """
    fields: dict[str, Any] = {"resultType": "complete"}
    if method in CACHEABLE_METHODS:
        fields.update(cacheScope="private", ttlMs=0)
    return {**result, **fields}


def decode_header_value(value: str | None) -> str | None:
    """Undo the ``=?base64?...?=`` wrapping of a header value, if present.

    Values that would not survive as an HTTP field (non-ASCII, edge spaces)
    travel base64-wrapped; a malformed wrapping decodes to None so it can
    never match a body value by accident.
    """
    if value is None:
        return None
    match = _B64_SENTINEL.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match["payload"], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _meta(message: Mapping[str, Any]) -> Mapping[str, Any]:
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta if isinstance(meta, dict) else {}
