"""Fuzz the aggregator's socket: it answers everything, counts every reject."""

from __future__ import annotations

from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loadgen.aggregator import wire
from loadgen.aggregator.server import ServerConfig
from loadgen.aggregator.testing import (
    LOOPBACK_ANY_PORT,
    RawPeer,
    interval_frame,
    running_server,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(),
    st.text(max_size=16),
    st.binary(max_size=32),
)
structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def valid_body(seq: int) -> dict[str, Any]:
    frame = interval_frame({"ping": [10, 2_000]}, run_id="fuzz", seq=seq)
    body: dict[str, Any] = msgpack.unpackb(wire.encode(frame), raw=False)
    return body


@st.composite
def frames(draw: st.DrawFn) -> list[bytes]:
    """Random bytes, random msgpack, valid frames, and valid frames with a field
    replaced; sometimes as several message parts."""
    kind = draw(st.sampled_from(["bytes", "msgpack", "valid", "mutated"]))
    seq = draw(st.integers(0, 50))
    if kind == "bytes":
        payload = draw(st.binary(max_size=200))
    elif kind == "msgpack":
        payload = msgpack.packb(draw(structures), use_bin_type=True)
    else:
        body = valid_body(seq)
        if kind == "mutated":
            body[draw(st.sampled_from(sorted(body)))] = draw(structures)
        payload = msgpack.packb(body, use_bin_type=True)
    if draw(st.integers(0, 9)) == 0:
        return [payload, draw(st.binary(max_size=20))]
    return [payload]


def test_socket_answers_every_frame_and_counts_rejects() -> None:
    """Whatever arrives gets an ack; each rejected ack is one counted reject."""
    config = ServerConfig(LOOPBACK_ANY_PORT, accept_any_run=True)
    with running_server(config) as server:
        assert server.address is not None
        peer = RawPeer(server.address)
        seen = {"rejected": 0}

        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(frames())
        def check(parts: list[bytes]) -> None:
            before = sum(server.rejected.values())
            ack = peer.ask(*parts)
            assert isinstance(ack, wire.Ack)
            assert ack.status in wire.ACK_STATUSES
            rejected = int(ack.status == wire.REJECTED)
            seen["rejected"] += rejected
            assert sum(server.rejected.values()) - before == rejected

        check()
        healthy = peer.ask(wire.encode(interval_frame({"a": [1]}, run_id="after")))
        peer.close()
    assert isinstance(healthy, wire.Ack) and healthy.status == wire.ACCEPTED
    assert sum(server.rejected.values()) == seen["rejected"]
    assert seen["rejected"] > 0
