"""Accepted frames in arrival order, per run: what pulls read and restarts replay.

A standalone aggregator appends every frame it accepts to a journal file
before it acknowledges the frame. Restarted on the same journal, it replays
the file into fresh state and so loses nothing it ever acknowledged; the
workers resend whatever it had not. Records are ``<u4 length><frame>``;
a record cut short by a crash mid-write is cut off at replay.

Writes go straight to the OS (no user-space buffer), which survives the
process being killed; the file is not fsynced per frame (a power cut can
lose the last few seconds), because an fsync per frame costs more than the
whole merge.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("<I")

# A pull reply stays under this many bytes whatever max_frames asks for.
MAX_REPLY_BYTES = 16 * 1024 * 1024


class FrameStore:
    """Frames per run; in memory, or in a journal file with offsets in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._fd: int | None = None
        self._memory: dict[str, list[bytes]] = {}
        self._offsets: dict[str, list[tuple[int, int]]] = {}
        self._size = 0

    def open(self) -> None:
        """Open (or create) the journal file; a no-op for a memory store."""
        if self.path is not None and self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._size = os.fstat(self._fd).st_size

    def replay(self) -> Iterator[tuple[bytes, int]]:
        """The frames the journal already holds, with their offsets."""
        if self._fd is None:
            return
        offset = 0
        while offset + _HEADER.size <= self._size:
            (length,) = _HEADER.unpack(os.pread(self._fd, _HEADER.size, offset))
            end = offset + _HEADER.size + length
            if end > self._size:
                break
            yield (
                os.pread(self._fd, length, offset + _HEADER.size),
                offset + _HEADER.size,
            )
            offset = end
        if offset != self._size:
            logger.warning(
                "Journal %s ends in a partial record (%s bytes); cutting it off",
                self.path,
                self._size - offset,
            )
            os.ftruncate(self._fd, offset)
            self._size = offset

    def index(self, run_id: str, payload: bytes, offset: int | None = None) -> None:
        """Remember a frame already in the journal (replay) or in memory."""
        if self._fd is None:
            self._memory.setdefault(run_id, []).append(payload)
            return
        assert offset is not None
        self._offsets.setdefault(run_id, []).append((offset, len(payload)))

    def append(self, run_id: str, payload: bytes) -> None:
        """Store one accepted frame (before it is acknowledged)."""
        if self._fd is None:
            self.index(run_id, payload)
            return
        record = _HEADER.pack(len(payload)) + payload
        written = os.pwrite(self._fd, record, self._size)
        if written != len(record):
            raise OSError(f"journal {self.path}: short write ({written} bytes)")
        self.index(run_id, payload, self._size + _HEADER.size)
        self._size += len(record)

    def count(self, run_id: str) -> int:
        if self._fd is None:
            return len(self._memory.get(run_id, ()))
        return len(self._offsets.get(run_id, ()))

    def read(self, run_id: str, from_index: int, max_frames: int) -> list[bytes]:
        """Up to ``max_frames`` frames of a run from a position, size-capped."""
        if self._fd is None:
            frames = self._memory.get(run_id, [])[from_index : from_index + max_frames]
        else:
            spans = self._offsets.get(run_id, [])[from_index : from_index + max_frames]
            frames = [os.pread(self._fd, length, offset) for offset, length in spans]
        out: list[bytes] = []
        total = 0
        for frame in frames:
            total += len(frame)
            if out and total > MAX_REPLY_BYTES:
                break
            out.append(frame)
        return out

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
