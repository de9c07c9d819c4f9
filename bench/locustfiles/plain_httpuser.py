"""A plain Locust HttpUser posting tools/call echo (benchmark variant ``httpuser``).

The same session and body as ``plain_fasthttp.py`` (``echo_call.PlainEchoSession``),
through Locust's requests-based HttpUser instead of geventhttpclient: what a
hand-written Locust test most often looks like.
"""

from __future__ import annotations

from echo_call import PlainEchoSession
from locust import HttpUser, constant


class PlainHttpUser(PlainEchoSession, HttpUser):
    """tools/call echo through Locust's HttpSession, no MCP client code."""

    wait_time = constant(0)
