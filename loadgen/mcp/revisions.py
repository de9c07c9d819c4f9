"""The MCP protocol revisions this client speaks, oldest first."""

from typing import Final

# Revisions negotiated through the initialize handshake (Streamable HTTP
# exists since 2025-03-26; 2024-11-05 used the older HTTP+SSE transport).
HANDSHAKE_REVISIONS: Final = ("2025-03-26", "2025-06-18", "2025-11-25")

# Revisions without a session: every request carries its own envelope in
# params._meta and capabilities come from server/discover.
SESSIONLESS_REVISIONS: Final = ("2026-07-28",)

ALL_REVISIONS: Final = HANDSHAKE_REVISIONS + SESSIONLESS_REVISIONS

# The MCP-Protocol-Version header is required after initialization from this
# revision on (2025-06-18, basic/transports "Protocol Version Header").
FIRST_REVISION_WITH_VERSION_HEADER: Final = "2025-06-18"

# params._meta keys of the sessionless envelope (2026-07-28).
META_PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"

# Methods whose named parameter is mirrored into the Mcp-Name header.
NAME_BEARING_PARAMS: Final = {
    "tools/call": "name",
    "prompts/get": "name",
    "resources/read": "uri",
}


def is_sessionless(revision: str) -> bool:
    """Tell whether a revision runs without initialize and session ids."""
    return revision in SESSIONLESS_REVISIONS


def sends_version_header(revision: str) -> bool:
    """Tell whether requests under this revision carry MCP-Protocol-Version."""
    return revision >= FIRST_REVISION_WITH_VERSION_HEADER


# Methods the sessionless revision removed with the lifecycle (2026-07-28:
# no ping, no logging/setLevel, no resource subscriptions).
SESSIONLESS_REMOVED_METHODS: Final = frozenset(
    {"ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)


def removed_methods(revision: str) -> frozenset[str]:
    """Methods a client must not send under this revision."""
    return SESSIONLESS_REMOVED_METHODS if is_sessionless(revision) else frozenset()
