"""Test helpers for code that produces or reads results (ours and yours).

- :func:`interval_frame` builds a valid frame from latencies per name.
- :class:`FrameCapture` is an in-memory aggregator that also keeps every
  frame it was given, for tests that check what a worker sent (events from
  a breaker, the outcome of a chaos hook) without sockets.
- :func:`running_server` serves an aggregator on loopback for the length of
  a ``with`` block; :class:`RawPeer` sends it arbitrary bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import zmq

from loadgen.aggregator import wire
from loadgen.aggregator.results import RunSnapshot
from loadgen.aggregator.security import Endpoint
from loadgen.aggregator.server import AggregatorServer, ServerConfig
from loadgen.aggregator.sockets import new_context
from loadgen.aggregator.state import Aggregator, IngestResult
from loadgen.recording.recorder import IntervalRecord, Recorder

LOOPBACK_ANY_PORT = Endpoint("127.0.0.1", 0)


def interval_record(
    samples: Mapping[str, Sequence[int]],
    *,
    start_s: float = 0.0,
    end_s: float = 1.0,
    outcome: str = "ok",
) -> IntervalRecord:
    """A recorder's interval holding ``samples`` (latency_us per name)."""
    recorder = Recorder()
    for name, latencies in samples.items():
        for latency in latencies:
            recorder.record(name, int(latency), outcome)
    return recorder.take(start_s, end_s)


def interval_frame(
    samples: Mapping[str, Sequence[int]],
    *,
    run_id: str = "run-1",
    worker_id: str = "worker-1",
    seq: int = 0,
    start_s: float = 0.0,
    report_interval_s: float = 1.0,
    final: bool = False,
    outcome: str = "ok",
) -> wire.IntervalFrame:
    """A valid frame: one interval of one worker starting at ``start_s``."""
    record = interval_record(
        samples, start_s=start_s, end_s=start_s + report_interval_s, outcome=outcome
    )
    return wire.IntervalFrame.from_record(
        record,
        run_id=run_id,
        worker_id=worker_id,
        seq=seq,
        report_interval_s=report_interval_s,
        final=final,
    )


class FrameCapture:
    """Merges what it is given like the aggregator and keeps every frame."""

    def __init__(self, run_id: str | None = None) -> None:
        self.aggregator = Aggregator(run_id)
        self.frames: list[wire.IntervalFrame] = []
        self.results: list[IngestResult] = []

    def ingest(self, data: bytes) -> IngestResult:
        result = self.aggregator.ingest(data)
        self.results.append(result)
        if result.frame is not None:
            self.frames.append(result.frame)
        return result

    def snapshot(self) -> RunSnapshot:
        return self.aggregator.snapshot()


@contextmanager
def running_server(config: ServerConfig) -> Iterator[AggregatorServer]:
    """A server serving in a background thread (a greenlet under gevent)."""
    server = AggregatorServer(config)
    server.start()
    stop = threading.Event()
    thread = threading.Thread(
        target=server.serve_until, args=(stop.is_set, 0.02), daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        assert not thread.is_alive(), "the server loop did not stop"


class RawPeer:
    """A bare DEALER that sends any bytes and reads what comes back."""

    def __init__(self, endpoint: Endpoint, **options: Any) -> None:
        self._context = new_context()
        self.socket = self._context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        for name, value in options.items():
            setattr(self.socket, name, value)
        self.socket.connect(endpoint.url)

    def ask(self, *parts: bytes, timeout_s: float = 5.0) -> wire.Message | None:
        """Send one message (several parts if given) and decode the reply."""
        self.socket.send_multipart(list(parts))
        if not self.socket.poll(int(timeout_s * 1000), zmq.POLLIN):
            return None
        return wire.decode(self.socket.recv(), 64 * 1024 * 1024)

    def close(self) -> None:
        self.socket.close(linger=0)
