"""The aggregator's socket: a ROUTER that merges, acknowledges and serves pulls.

One loop does everything: it polls the ROUTER (and the ZAP socket when CURVE
is on), decodes each message, merges interval frames into the run's
:class:`~loadgen.aggregator.state.Aggregator`, appends accepted frames to
the journal, and answers with an ack. A rejected frame is answered with a
``rejected`` ack and counted; its first rejection is logged per peer, so a
misbehaving peer costs one log line, not one per frame.

Inside the Locust master the loop runs in a greenlet (``zmq.green``); as
``mcp-loadgen aggregator`` it runs in the main thread.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from loadgen.aggregator import wire
from loadgen.aggregator.journal import FrameStore
from loadgen.aggregator.security import (
    ZAP_ENDPOINT,
    Endpoint,
    ServerKeys,
    endpoint_from_bound,
    zap_reply,
)
from loadgen.aggregator.sockets import module_of, new_context, server_socket
from loadgen.aggregator.state import Aggregator
from loadgen.recording.schedule import Clock

logger = logging.getLogger(__name__)

# Messages handled per poll before the loop lets others run (gevent) or
# checks its stop condition: bounds the latency of a stop request.
BATCH = 500

# 2 s of retries (0.1 s apart) for a port its previous holder is releasing.
BIND_ATTEMPTS = 20

# A standalone aggregator keeps this many runs in memory, oldest dropped.
MAX_RUNS = 16


@dataclass(frozen=True)
class ServerConfig:
    bind: Endpoint
    keys: ServerKeys | None = None
    max_frame_bytes: int = wire.DEFAULT_MAX_FRAME_BYTES
    journal_path: Path | None = None
    # True: accept every run (standalone); else only the run of begin_run.
    accept_any_run: bool = False


class AggregatorServer:
    """Receives interval frames over ZeroMQ and feeds one aggregator per run."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        clock: Clock = time.time,
        context: Any = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._context = context if context is not None else new_context()
        self._zmq = module_of(self._context)
        self._runs: dict[str, Aggregator] = {}
        self._current: str | None = None
        self._store = FrameStore(config.journal_path)
        self._logged_peers: set[bytes] = set()
        self.rejected: Counter[str] = Counter()
        self.address: Endpoint | None = None
        self._router: Any = None
        self._zap: Any = None
        self._poller: Any = None

    # Life --------------------------------------------------------------------

    def start(self) -> Endpoint:
        """Replay the journal, bind, and return the address bound."""
        self._replay()
        if self.config.keys is not None:
            self._zap = self._context.socket(zmq.REP)
            self._zap.setsockopt(zmq.LINGER, 0)
            self._zap.bind(ZAP_ENDPOINT)
        self._router = server_socket(
            self._context, self.config.max_frame_bytes, self.config.keys
        )
        self._bind()
        bound = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        self.address = endpoint_from_bound(bound)
        self._poller = self._zmq.Poller()
        self._poller.register(self._router, zmq.POLLIN)
        if self._zap is not None:
            self._poller.register(self._zap, zmq.POLLIN)
        logger.info(
            "Aggregator listening on %s (%s)",
            self.address.url,
            "CURVE" if self.config.keys else "no encryption",
        )
        return self.address

    def _bind(self) -> None:
        """Bind, retrying for a moment while a previous holder releases the port.

        ZeroMQ closes a listening socket in its I/O thread, after close()
        returned: an aggregator restarted at once on the same port can find
        it still taken for a few milliseconds.
        """
        for attempt in range(BIND_ATTEMPTS):
            try:
                self._router.bind(self.config.bind.url)
                return
            except zmq.ZMQError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == BIND_ATTEMPTS - 1:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        for sock in (self._router, self._zap):
            if sock is not None:
                sock.close(linger=0)
        self._router = self._zap = None
        self._store.close()
        if sum(self.rejected.values()):
            logger.info(
                "Aggregator closed; rejected frames by reason: %s", dict(self.rejected)
            )

    def _replay(self) -> None:
        self._store.open()
        replayed = 0
        for payload, offset in self._store.replay():
            frame = wire.decode(payload, self.config.max_frame_bytes)
            assert isinstance(frame, wire.IntervalFrame)
            self._aggregator_for(frame.run_id, create=True)
            self._runs[frame.run_id].ingest_frame(frame)
            self._store.index(frame.run_id, payload, offset)
            replayed += 1
        if replayed:
            logger.info(
                "Aggregator replayed %s frames of %s runs from %s",
                replayed,
                len(self._runs),
                self.config.journal_path,
            )

    # Runs --------------------------------------------------------------------

    def begin_run(self, run_id: str) -> Aggregator:
        """Collect ``run_id`` from now on; frames of earlier runs are foreign."""
        aggregator = Aggregator(
            run_id, clock=self._clock, max_frame_bytes=self.config.max_frame_bytes
        )
        self._runs = {run_id: aggregator}
        self._current = run_id
        return aggregator

    def aggregator(self, run_id: str | None = None) -> Aggregator | None:
        """The aggregator of a run (the current or newest one when None)."""
        if run_id is None:
            run_id = self._current or next(reversed(self._runs), None)
        return self._runs.get(run_id) if run_id is not None else None

    def run_ids(self) -> tuple[str, ...]:
        return tuple(self._runs)

    def _aggregator_for(self, run_id: str, create: bool) -> Aggregator | None:
        aggregator = self._runs.get(run_id)
        if aggregator is not None or not create:
            return aggregator
        if len(self._runs) >= MAX_RUNS:
            oldest = next(iter(self._runs))
            del self._runs[oldest]
            logger.info("Aggregator dropped run %s from memory (oldest)", oldest)
        aggregator = self._runs[run_id] = Aggregator(
            run_id, clock=self._clock, max_frame_bytes=self.config.max_frame_bytes
        )
        logger.info("Aggregator collecting run %s", run_id)
        return aggregator

    # Loop --------------------------------------------------------------------

    def serve_once(self, timeout_s: float) -> int:
        """Handle what arrives within ``timeout_s`` (up to BATCH messages)."""
        events = dict(self._poller.poll(int(timeout_s * 1000)))
        if self._zap is not None and self._zap in events:
            self._answer_zap()
        if self._router not in events:
            return 0
        handled = 0
        while handled < BATCH:
            try:
                parts = self._router.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                break
            handled += 1
            self._handle(parts[0], parts[1:])
        return handled

    def serve_until(self, stop: Callable[[], bool], poll_s: float = 0.2) -> None:
        while not stop():
            self.serve_once(poll_s)

    def _answer_zap(self) -> None:
        assert self.config.keys is not None
        while True:
            try:
                request = self._zap.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._zap.send_multipart(
                zap_reply(request, self.config.keys.allowed_clients)
            )

    def _handle(self, identity: bytes, parts: list[bytes]) -> None:
        if len(parts) != 1:
            exc = wire.MalformedFrame(f"expected one message part, got {len(parts)}")
            self._reply(identity, self._reject(identity, exc))
            return
        payload = parts[0]
        try:
            message = wire.decode(payload, self.config.max_frame_bytes)
        except wire.WireError as exc:
            self._reply(identity, self._reject(identity, exc))
            return
        if isinstance(message, wire.IntervalFrame):
            self._reply(identity, self._on_interval(identity, payload, message))
        elif isinstance(message, wire.PullRequest):
            self._reply(identity, self._on_pull(message))
        else:
            kind = type(message).__name__
            wrong = wire.MalformedFrame(f"peers do not send a {kind} to the aggregator")
            self._reply(identity, self._reject(identity, wrong))

    def _on_interval(
        self, identity: bytes, payload: bytes, frame: wire.IntervalFrame
    ) -> wire.Ack:
        aggregator = self._aggregator_for(frame.run_id, self.config.accept_any_run)
        if aggregator is None:
            exc = wire.ForeignRun(
                f"frame of run {frame.run_id!r}; collecting {self._current!r}"
            )
            return self._reject(identity, exc, frame)
        result = aggregator.ingest_frame(frame)
        if result.status == wire.ACCEPTED:
            self._store.append(frame.run_id, payload)
        elif result.status == wire.REJECTED:
            self.rejected[result.reason] += 1
            self._log_reject(identity, result.reason, result.detail)
        return result.ack()

    def _on_pull(self, request: wire.PullRequest) -> wire.PullReply:
        frames = self._store.read(
            request.run_id, request.from_index, request.max_frames
        )
        return wire.PullReply(
            request.run_id,
            request.from_index,
            request.from_index + len(frames),
            tuple(frames),
        )

    def _reject(
        self,
        identity: bytes,
        exc: wire.WireError,
        frame: wire.IntervalFrame | None = None,
    ) -> wire.Ack:
        """Count and log (once per peer) a frame we cannot take; build its ack."""
        self.rejected[exc.reason] += 1
        current = self.aggregator()
        if current is not None and not self.config.accept_any_run:
            current.count_rejected(exc.reason)
        self._log_reject(identity, exc.reason, str(exc))
        if frame is None:
            return wire.Ack("", -1, wire.REJECTED, exc.reason)
        return wire.Ack(
            frame.run_id, frame.seq, wire.REJECTED, exc.reason, frame.schema_version
        )

    def _log_reject(self, identity: bytes, reason: str, detail: str) -> None:
        if identity in self._logged_peers:
            return
        self._logged_peers.add(identity)
        logger.warning(
            "Aggregator rejected a frame from peer %s (%s): %s; "
            "further rejects from this peer are only counted",
            identity.hex(),
            reason,
            detail,
        )

    def _reply(self, identity: bytes, message: wire.Message) -> None:
        # A full queue or a peer that left: it resends, or it is gone.
        with contextlib.suppress(zmq.Again):
            self._router.send_multipart([identity, wire.encode(message)], zmq.NOBLOCK)
