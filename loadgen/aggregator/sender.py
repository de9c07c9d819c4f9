"""The worker's side: send each interval, keep it until acknowledged, resend.

``SendBuffer`` is the pure part: which frames are unacknowledged, which are
due for (re)sending, and what was dropped when the buffer was full.
``ReportSender`` drives it over a DEALER socket: ``submit`` encodes and
sends at once, ``pump`` reads acks and resends what has waited too long.
A reconnect needs no special handling: ZeroMQ reconnects by itself and the
next resend delivers whatever the aggregator had not acknowledged; it
acknowledges duplicates again and merges them once.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import zmq

from loadgen.aggregator import wire
from loadgen.aggregator.security import ClientKeys, Endpoint
from loadgen.aggregator.sockets import client_socket, new_context
from loadgen.recording.recorder import IntervalRecord
from loadgen.recording.schedule import Clock

logger = logging.getLogger(__name__)

# Ten minutes of 1 s intervals: an aggregator restart or a network blip of
# that length loses nothing; beyond it the oldest intervals are dropped (and
# show as gaps in the aggregator's completeness).
DEFAULT_BUFFER_FRAMES = 600

# An ack normally arrives within milliseconds on a LAN; two seconds without
# one means the frame or its ack was lost.
DEFAULT_RESEND_AFTER_S = 2.0


@dataclass
class _Pending:
    payload: bytes
    sent_at_s: float | None = None


class SendBuffer:
    """Unacknowledged frames by sequence number, oldest first, bounded."""

    def __init__(
        self,
        capacity: int = DEFAULT_BUFFER_FRAMES,
        resend_after_s: float = DEFAULT_RESEND_AFTER_S,
    ) -> None:
        self.capacity = capacity
        self.resend_after_s = resend_after_s
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self.dropped_count = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, seq: int, payload: bytes) -> int | None:
        """Keep a frame; returns the sequence number dropped to make room."""
        dropped = None
        if len(self._pending) >= self.capacity:
            dropped, _ = self._pending.popitem(last=False)
            self.dropped_count += 1
        self._pending[seq] = _Pending(payload)
        return dropped

    def due(self, now_s: float) -> list[tuple[int, bytes]]:
        """Frames never sent, or sent ``resend_after_s`` ago without an ack."""
        limit = now_s - self.resend_after_s
        return [
            (seq, p.payload)
            for seq, p in self._pending.items()
            if p.sent_at_s is None or p.sent_at_s <= limit
        ]

    def mark_sent(self, seq: int, now_s: float) -> None:
        pending = self._pending.get(seq)
        if pending is not None:
            pending.sent_at_s = now_s

    def settle(self, seq: int) -> bool:
        """Forget an acknowledged (or definitively rejected) frame."""
        return self._pending.pop(seq, None) is not None


class ReportSender:
    """Sends one worker's intervals of one run to one aggregator address."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        run_id: str,
        worker_id: str,
        report_interval_s: float,
        keys: ClientKeys | None = None,
        buffer: SendBuffer | None = None,
        clock: Clock = time.monotonic,
        context: Any = None,
    ) -> None:
        self.endpoint = endpoint
        self.run_id = run_id
        self.worker_id = worker_id
        self.report_interval_s = report_interval_s
        self.buffer = buffer if buffer is not None else SendBuffer()
        self.next_seq = 0
        self.final_seq: int | None = None
        self._clock = clock
        self._context = context if context is not None else new_context()
        self._socket = client_socket(self._context, keys, self.buffer.capacity)
        self._socket.connect(endpoint.url)
        self._warned: set[str] = set()
        self.acked_count = 0

    # Submitting --------------------------------------------------------------

    def submit(self, record: IntervalRecord, final: bool = False) -> int:
        """Number, encode, keep and send one interval; returns its seq."""
        seq = self.next_seq
        self.next_seq += 1
        frame = wire.IntervalFrame.from_record(
            record,
            run_id=self.run_id,
            worker_id=self.worker_id,
            seq=seq,
            report_interval_s=self.report_interval_s,
            final=final,
        )
        if final:
            self.final_seq = seq
        dropped = self.buffer.add(seq, wire.encode(frame))
        if dropped is not None:
            self._warn_once(
                "buffer_full",
                "Results: send buffer full (%s intervals unacknowledged); dropping "
                "the oldest, the aggregator will report them missing",
            )
        self._send_due()
        return seq

    def _send_due(self) -> None:
        now = self._clock()
        for seq, payload in self.buffer.due(now):
            try:
                self._socket.send(payload, zmq.NOBLOCK)
            except zmq.Again:
                return  # no connection yet (IMMEDIATE) or queue full: later
            self.buffer.mark_sent(seq, now)

    # Acks --------------------------------------------------------------------

    def pump(self, timeout_s: float) -> int:
        """Read acks for up to ``timeout_s``, then resend what is overdue."""
        handled = 0
        if self._socket.poll(int(timeout_s * 1000), zmq.POLLIN):
            while True:
                try:
                    data = self._socket.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                handled += 1
                self._on_reply(data)
        self._send_due()
        return handled

    def _on_reply(self, data: bytes) -> None:
        try:
            ack = wire.decode(data)
        except wire.WireError as exc:
            self._warn_once(
                "bad_ack", "Results: unreadable reply from aggregator: %s", exc
            )
            return
        if not isinstance(ack, wire.Ack) or ack.run_id not in (self.run_id, ""):
            return
        if ack.status == wire.REJECTED:
            self._warn_once(
                ack.reason,
                "Results: aggregator rejected interval %s (%s); not resending it",
                ack.seq,
                ack.reason,
            )
        if ack.seq >= 0 and self.buffer.settle(ack.seq):
            self.acked_count += 1

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            if key == "buffer_full":
                args = (self.buffer.capacity,)
            logger.warning(message, *args)

    # Ending ------------------------------------------------------------------

    @property
    def unacked(self) -> int:
        return len(self.buffer)

    def wait_acked(self, timeout_s: float, step_s: float = 0.05) -> bool:
        """Pump until everything is acknowledged or ``timeout_s`` passed."""
        deadline = self._clock() + timeout_s
        while self.unacked:
            left = deadline - self._clock()
            if left <= 0:
                return False
            self.pump(min(step_s, left))
        return True

    def close(self) -> None:
        self._socket.close(linger=0)
