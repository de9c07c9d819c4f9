"""ZeroMQ plumbing shared by the server, the sender and the mirror.

Inside Locust everything runs on gevent, so sockets come from ``zmq.green``
(a blocking poll yields to other greenlets); a standalone aggregator runs
without gevent and uses plain ``zmq``. ``zmq_module`` picks by whether
gevent has patched the socket module, so one code path serves both.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

import zmq

from loadgen.aggregator.security import ClientKeys, ServerKeys

# Hard ceiling ZeroMQ enforces before we see a message (it drops the
# connection); our own, counted limit (wire.DEFAULT_MAX_FRAME_BYTES) is
# checked below it, so an oversized frame is rejected and counted.
HARD_LIMIT_FACTOR = 4


def zmq_module() -> ModuleType:
    """``zmq.green`` under gevent's monkey patching, else plain ``zmq``."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        return importlib.import_module("zmq.green")
    return zmq


def new_context(module: ModuleType | None = None) -> Any:
    """A fresh context of the right flavour (never shared across a fork)."""
    return (module or zmq_module()).Context()


def green_context() -> Any:
    """A gevent-cooperative context, for code that runs in greenlets."""
    return new_context(importlib.import_module("zmq.green"))


def module_of(context: Any) -> ModuleType:
    """The zmq flavour (plain or green) a context's sockets belong to."""
    green = importlib.import_module("zmq.green")
    return green if isinstance(context, green.Context) else zmq


def server_socket(context: Any, max_frame_bytes: int, keys: ServerKeys | None) -> Any:
    """A ROUTER socket: one peer per worker, replies routed by identity."""
    sock = context.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, max_frame_bytes * HARD_LIMIT_FACTOR)
    sock.setsockopt(zmq.RCVHWM, 100_000)
    sock.setsockopt(zmq.SNDHWM, 100_000)
    if keys is not None:
        sock.curve_server = True
        sock.curve_secretkey = keys.secret
        sock.curve_publickey = keys.public
        # Every connection is authenticated through our ZAP handler.
        sock.zap_domain = b"mcp-loadgen"
    return sock


def client_socket(context: Any, keys: ClientKeys | None, queue_frames: int) -> Any:
    """A DEALER socket that queues nothing while it has no connection.

    With ZMQ_IMMEDIATE a send fails (EAGAIN) instead of queueing for a peer
    that is not there, so the sender's own buffer stays the one place where
    unacknowledged intervals live.
    """
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDHWM, max(queue_frames, 1))
    sock.setsockopt(zmq.RECONNECT_IVL, 100)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1_000)
    if keys is not None:
        sock.curve_serverkey = keys.server_public
        sock.curve_publickey = keys.public
        sock.curve_secretkey = keys.secret
    return sock
