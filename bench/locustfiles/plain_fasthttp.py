"""A plain Locust FastHttpUser posting tools/call echo (benchmark variant
``fasthttp``): the baseline for McpUser's cost per request.

It sends what an MCP client sends for the same call: it opens a session with
initialize in on_start and then posts the same JSON-RPC body with the same
headers, session id included, so the target serves both users the same way
(the session code is ``echo_call.PlainEchoSession``).
"""

from __future__ import annotations

from echo_call import PlainEchoSession
from locust import FastHttpUser, constant


class PlainFastHttpUser(PlainEchoSession, FastHttpUser):
    """tools/call echo through FastHttpSession, no MCP client code."""

    wait_time = constant(0)
