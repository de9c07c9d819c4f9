"""The MCP protocol core: JSON-RPC framing, SSE parsing, sessions, outcomes.

Nothing in this package touches a socket. Drivers in ``loadgen.transport``
move the bytes; this package decides what they mean.
"""
