"""Sessions of the handshake revisions: opened by initialize, ended by DELETE.

Expiry is decided by the fault plan (a forced expiry or an idle TTL), and
applied lazily: a session is found dead when it is next looked up. Clients
under load often walk away without a DELETE, so the store also sweeps dead
sessions out whenever it has doubled in size since the last sweep, which
keeps the cost amortised O(1) per session opened.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from loadgen.target.faults import FaultPlan

# Below this many sessions a sweep is not worth its time.
_MIN_SWEEP_AT: Final = 1024

# Log levels of the MCP logging capability (RFC 5424 severities), lowest
# first; a session gets notifications/message at its level or above.
LOG_LEVELS: Final = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)


def random_session_id() -> str:
    """128 random bits as hex: visible ASCII, as the transport requires."""
    return secrets.token_hex(16)


@dataclass(slots=True)
class Session:
    """One open session."""

    session_id: str
    revision: str
    generation: int
    last_seen_s: float
    log_level: str = "debug"

    def wants_log(self, level: str) -> bool:
        return LOG_LEVELS.index(level) >= LOG_LEVELS.index(self.log_level)


class SessionStore:
    """Open sessions by id."""

    def __init__(
        self, faults: FaultPlan, new_id: Callable[[], str] = random_session_id
    ) -> None:
        self._faults = faults
        self._new_id = new_id
        self._sessions: dict[str, Session] = {}
        self._sweep_at = _MIN_SWEEP_AT

    def __len__(self) -> int:
        """Sessions held, expired ones not yet swept included."""
        return len(self._sessions)

    def open(self, revision: str) -> Session:
        """Start a session under ``revision``."""
        faults = self._faults
        session = Session(self._new_id(), revision, faults.generation, faults.now())
        self._sessions[session.session_id] = session
        if len(self._sessions) >= self._sweep_at:
            self.sweep()
        return session

    def find(self, session_id: str) -> Session | None:
        """The live session with this id, marked as seen now; else None."""
        session = self._sessions.get(session_id)
        if session is None:
            return None
        faults = self._faults
        if not faults.session_alive(session.generation, session.last_seen_s):
            del self._sessions[session_id]
            return None
        session.last_seen_s = faults.now()
        return session

    def close(self, session_id: str) -> bool:
        """End a live session; False when there was none to end."""
        if self.find(session_id) is None:
            return False
        del self._sessions[session_id]
        return True

    def sweep(self) -> int:
        """Drop expired sessions; return how many remain."""
        alive = self._faults.session_alive
        self._sessions = {
            key: session
            for key, session in self._sessions.items()
            if alive(session.generation, session.last_seen_s)
        }
        self._sweep_at = max(_MIN_SWEEP_AT, 2 * len(self._sessions))
        return len(self._sessions)
