"""A local copy of a run held by a standalone aggregator, fed by pulls.

When workers send to ``mcp-loadgen aggregator`` instead of the master, the
master still needs the run in-process (for the SLA evaluator and the end of
run table). It pulls the run's accepted frames, oldest first, and ingests
them into its own :class:`~loadgen.aggregator.state.Aggregator`: the same
frames merged by the same code give the same results, and completeness is
computed from the frames alone. A pull is idempotent (a position, not a
cursor), so a lost reply or a restarted aggregator only costs a retry.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import zmq

from loadgen.aggregator import wire
from loadgen.aggregator.journal import MAX_REPLY_BYTES
from loadgen.aggregator.security import ClientKeys, Endpoint
from loadgen.aggregator.sockets import client_socket, new_context
from loadgen.aggregator.state import Aggregator
from loadgen.recording.schedule import Clock

logger = logging.getLogger(__name__)

PULL_BATCH = 1_000


class RemoteMirror:
    """Pulls one run from a standalone aggregator into a local aggregator."""

    def __init__(
        self,
        endpoint: Endpoint,
        aggregator: Aggregator,
        *,
        keys: ClientKeys | None = None,
        clock: Clock = time.monotonic,
        context: Any = None,
    ) -> None:
        assert aggregator.run_id is not None, "a mirror follows one named run"
        self.endpoint = endpoint
        self.aggregator = aggregator
        self.next_index = 0
        self._clock = clock
        self._context = context if context is not None else new_context()
        self._socket = client_socket(self._context, keys, 16)
        self._socket.connect(endpoint.url)
        self._warned = False

    def pull(self, timeout_s: float) -> int | None:
        """One request and its reply: frames that were new, None if no reply."""
        run_id = self.aggregator.run_id or ""
        request = wire.PullRequest(run_id, self.next_index, PULL_BATCH)
        try:
            self._socket.send(wire.encode(request), zmq.NOBLOCK)
        except zmq.Again:
            # Not connected yet: wait like a failed poll would, then give up.
            self._socket.poll(int(timeout_s * 1000), zmq.POLLIN)
            return None
        deadline = self._clock() + timeout_s
        while (left := deadline - self._clock()) > 0:
            if not self._socket.poll(int(left * 1000) + 1, zmq.POLLIN):
                return None
            reply = self._decode(self._socket.recv())
            if reply is not None and reply.from_index == self.next_index:
                return self._ingest(reply)
        return None

    def pull_all(self, timeout_s: float) -> int:
        """Pull until a reply brings less than a batch or ``timeout_s`` passed."""
        deadline = self._clock() + timeout_s
        total = 0
        while (left := deadline - self._clock()) > 0:
            new = self.pull(min(left, 1.0))
            if new is None:
                continue
            total += new
            if new < PULL_BATCH:
                return total
        return total

    def _decode(self, data: bytes) -> wire.PullReply | None:
        try:
            reply = wire.decode(data, MAX_REPLY_BYTES + (1 << 20))
        except wire.WireError as exc:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "Results: unreadable reply from %s: %s", self.endpoint.url, exc
                )
            return None
        return reply if isinstance(reply, wire.PullReply) else None

    def _ingest(self, reply: wire.PullReply) -> int:
        for frame in reply.frames:
            self.aggregator.ingest(frame)
        self.next_index = reply.next_index
        return len(reply.frames)

    def close(self) -> None:
        self._socket.close(linger=0)
