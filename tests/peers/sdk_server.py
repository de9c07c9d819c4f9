"""The official MCP Python SDK server (PyPI ``mcp`` 2.x), as a test peer.

Run as its own process: the SDK runs on asyncio, and importing Locust
monkey-patches the standard library with gevent.

    python -m tests.peers.sdk_server PORT [--stateless] [--json]
"""

from __future__ import annotations

import argparse

from mcp.server.mcpserver import MCPServer


def build_server() -> MCPServer:
    server = MCPServer("sdk-peer")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @server.resource("peer://readme")
    def readme() -> str:
        """A short text resource."""
        return "the SDK peer of mcp-loadgen's tests"

    @server.prompt()
    def greet(name: str) -> str:
        """Greet someone by name."""
        return f"Hello, {name}!"

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    build_server().run(
        "streamable-http",
        host="127.0.0.1",
        port=args.port,
        stateless_http=args.stateless,
        json_response=args.json,
    )


if __name__ == "__main__":
    main()
