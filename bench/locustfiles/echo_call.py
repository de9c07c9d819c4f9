"""The one MCP call both benchmark users send, so their bytes match.

``bench_user_cost.py`` compares McpUser with a plain FastHttpUser; the
comparison is only fair when both put the same request on the wire and the
target answers both the same way. Both locustfiles take their values here.
"""

from typing import Final

# The request name both users report, so one CSV row counts each variant.
REQUEST_NAME: Final = "tools/call echo"

ENDPOINT: Final = "/mcp"

# A handshake revision: both users open a session with initialize and send
# its Mcp-Session-Id (``auto`` would pick the sessionless revision, whose
# requests carry more headers and a larger body).
PROTOCOL_REVISION: Final = "2025-11-25"

# Short, like most tool arguments; the target echoes it back.
ECHO_TEXT: Final = "hello from the generator cost benchmark"

ECHO_ARGUMENTS: Final = {"text": ECHO_TEXT}

# The headers McpSession sends after initialize, plus the transport's
# User-Agent; the session headers are added once the session is open.
BASE_HEADERS: Final = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "User-Agent": "mcp-loadgen",
}
