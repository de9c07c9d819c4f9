"""Server, sender and mirror over loopback ZeroMQ: acks, resends, limits, keys."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from loadgen.aggregator import wire
from loadgen.aggregator.mirror import RemoteMirror
from loadgen.aggregator.security import (
    ClientKeys,
    Endpoint,
    check_bind_policy,
    create_keys,
    load_client_keys,
    load_server_keys,
)
from loadgen.aggregator.sender import ReportSender, SendBuffer
from loadgen.aggregator.server import ServerConfig
from loadgen.aggregator.state import Aggregator
from loadgen.aggregator.testing import (
    LOOPBACK_ANY_PORT,
    RawPeer,
    interval_frame,
    interval_record,
    running_server,
)
from loadgen.errors import ConfigError

RUN = "run-1"


def standalone(**kwargs: object) -> ServerConfig:
    return ServerConfig(LOOPBACK_ANY_PORT, accept_any_run=True, **kwargs)  # type: ignore[arg-type]


def sender_to(
    endpoint: Endpoint,
    *,
    keys: ClientKeys | None = None,
    buffer: SendBuffer | None = None,
) -> ReportSender:
    return ReportSender(
        endpoint,
        run_id=RUN,
        worker_id="w1",
        report_interval_s=1.0,
        keys=keys,
        buffer=buffer,
    )


def submit(sender: ReportSender, seq_count: int, final_last: bool = True) -> None:
    for i in range(seq_count):
        record = interval_record({"ping": [100 * (i + 1)]}, start_s=i, end_s=i + 1)
        sender.submit(record, final=final_last and i == seq_count - 1)


def test_sent_intervals_are_acknowledged_and_merged() -> None:
    """Every submitted interval is acknowledged and merged once."""
    with running_server(standalone()) as server:
        assert server.address is not None
        sender = sender_to(server.address)
        submit(sender, 4)
        assert sender.wait_acked(5.0)
        aggregator = server.aggregator(RUN)
        assert aggregator is not None
        snapshot = aggregator.snapshot()
        sender.close()
    assert snapshot.cumulative.total.count == 4
    assert snapshot.completeness.complete
    assert snapshot.completeness.workers_finished == 1


def test_resends_are_merged_once() -> None:
    """Resending everything (as after a lost ack) changes no count."""
    with running_server(standalone()) as server:
        assert server.address is not None
        sender = sender_to(server.address, buffer=SendBuffer(resend_after_s=0.0))
        submit(sender, 3)
        for _ in range(5):
            sender.pump(0.01)
        assert sender.wait_acked(5.0)
        aggregator = server.aggregator(RUN)
        assert aggregator is not None
        snapshot = aggregator.snapshot()
        sender.close()
    assert snapshot.cumulative.total.count == 3
    assert snapshot.completeness.intervals_received == 3


def test_restarted_aggregator_with_journal_loses_nothing(tmp_path: Path) -> None:
    """Frames acked before a restart are replayed; frames sent meanwhile are resent."""
    journal = tmp_path / "results.journal"
    with running_server(standalone(journal_path=journal)) as first:
        assert first.address is not None
        endpoint = first.address
        sender = sender_to(endpoint, buffer=SendBuffer(resend_after_s=0.2))
        submit(sender, 3, final_last=False)
        assert sender.wait_acked(5.0)

    for i in range(3, 5):
        record = interval_record({"ping": [500]}, start_s=i, end_s=i + 1)
        sender.submit(record, final=i == 4)
    assert sender.unacked == 2

    config = ServerConfig(endpoint, accept_any_run=True, journal_path=journal)
    with running_server(config) as second:
        assert sender.wait_acked(10.0)
        aggregator = second.aggregator(RUN)
        assert aggregator is not None
        snapshot = aggregator.snapshot()
    sender.close()
    assert snapshot.completeness.intervals_received == 5
    assert snapshot.completeness.complete
    assert snapshot.cumulative.total.count == 5


def test_full_buffer_drops_oldest_and_the_gap_is_reported() -> None:
    """With no aggregator reachable, the bounded buffer drops its oldest frames."""
    endpoint = Endpoint("127.0.0.1", free_port())
    sender = sender_to(endpoint, buffer=SendBuffer(capacity=3, resend_after_s=0.1))
    submit(sender, 5)
    assert sender.buffer.dropped_count == 2
    with running_server(ServerConfig(endpoint, accept_any_run=True)) as server:
        assert sender.wait_acked(10.0)
        aggregator = server.aggregator(RUN)
        assert aggregator is not None
        completeness = aggregator.snapshot().completeness
    sender.close()
    assert completeness.intervals_received == 3
    assert completeness.intervals_missing == 2


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_in_master_server_rejects_frames_of_other_runs() -> None:
    """Begun with a run id, the server rejects and counts frames of any other run."""
    with running_server(ServerConfig(LOOPBACK_ANY_PORT)) as server:
        aggregator = server.begin_run(RUN)
        assert server.address is not None
        peer = RawPeer(server.address)
        stale = interval_frame({"a": [1]}, run_id="earlier-run", seq=4)
        ack = peer.ask(wire.encode(stale))
        peer.close()
    assert isinstance(ack, wire.Ack)
    assert (ack.status, ack.reason, ack.seq) == (wire.REJECTED, "foreign_run", 4)
    assert aggregator.snapshot().completeness.rejected_frames == {"foreign_run": 1}


def test_oversized_frames_are_rejected_and_counted() -> None:
    """A frame over the server's limit gets a rejected ack, reason oversized."""
    with running_server(standalone(max_frame_bytes=2048)) as server:
        assert server.address is not None
        peer = RawPeer(server.address)
        ack = peer.ask(b"\x00" * 4096)
        peer.close()
    assert isinstance(ack, wire.Ack)
    assert (ack.status, ack.reason) == (wire.REJECTED, "oversized")
    assert server.rejected == {"oversized": 1}


def test_rejects_are_logged_once_per_peer(caplog: pytest.LogCaptureFixture) -> None:
    """Three bad frames from one peer give one warning and a count of three."""
    caplog.set_level(logging.WARNING, logger="loadgen.aggregator.server")
    with running_server(standalone()) as server:
        assert server.address is not None
        peer = RawPeer(server.address)
        for payload in (b"\xc1", b"not msgpack", b"\x93\x01\x02\x03"):
            assert peer.ask(payload) is not None
        assert peer.ask(b"a", b"b") is not None
        peer.close()
    assert sum(server.rejected.values()) == 4
    assert len([r for r in caplog.records if "rejected a frame" in r.message]) == 1


def test_mirror_pulls_the_same_results() -> None:
    """A mirror's aggregator, fed by pulls, equals the server's."""
    with running_server(standalone()) as server:
        assert server.address is not None
        sender = sender_to(server.address)
        submit(sender, 6)
        assert sender.wait_acked(5.0)
        mirror = RemoteMirror(server.address, Aggregator(RUN))
        assert mirror.pull_all(5.0) == 6
        assert mirror.pull(2.0) == 0
        served = server.aggregator(RUN)
        assert served is not None
        expected = served.snapshot().cumulative.total
        mirror.close()
        sender.close()
    mirrored = mirror.aggregator.snapshot()
    assert mirrored.cumulative.total.count == expected.count
    assert mirrored.cumulative.total.percentile_us(99) == expected.percentile_us(99)
    assert mirrored.completeness.complete


def test_curve_lets_key_holders_in_and_keeps_others_out(tmp_path: Path) -> None:
    """With CURVE keys, a client with the key is acked; others never are."""
    create_keys(tmp_path / "keys")
    keys = load_server_keys(tmp_path / "keys")
    client = load_client_keys(tmp_path / "keys")
    import zmq

    public, secret = zmq.curve_keypair()
    stranger = ClientKeys(public, secret, client.server_public)
    with running_server(standalone(keys=keys)) as server:
        assert server.address is not None
        allowed = sender_to(server.address, keys=client)
        denied = sender_to(server.address, keys=stranger)
        plain = sender_to(server.address)
        for sender in (allowed, denied, plain):
            submit(sender, 1)
        assert allowed.wait_acked(5.0)
        assert not denied.wait_acked(1.0)
        assert not plain.wait_acked(0.5)
        for sender in (allowed, denied, plain):
            sender.close()


def test_keys_are_not_overwritten(tmp_path: Path) -> None:
    """Creating keys twice in one directory is refused."""
    create_keys(tmp_path)
    with pytest.raises(ConfigError, match="overwrite"):
        create_keys(tmp_path)


@pytest.mark.parametrize(
    ("host", "keys", "insecure", "allowed"),
    [
        ("127.0.0.1", "", False, True),
        ("::1", "", False, True),
        ("localhost", "", False, True),
        ("0.0.0.0", "", False, False),
        ("10.1.2.3", "", False, False),
        ("0.0.0.0", "/keys", False, True),
        ("0.0.0.0", "", True, True),
    ],
)
def test_bind_policy(host: str, keys: str, insecure: bool, allowed: bool) -> None:
    """Loopback binds freely; anything else needs keys or the insecure flag."""
    endpoint = Endpoint(host, 5558)
    if allowed:
        check_bind_policy(endpoint, keys or None, insecure)
    else:
        with pytest.raises(ConfigError, match="CURVE keys"):
            check_bind_policy(endpoint, keys or None, insecure)


def test_journal_cuts_off_a_partial_last_record(tmp_path: Path) -> None:
    """A record cut short by a crash mid-write is dropped at replay."""
    journal = tmp_path / "j"
    with running_server(standalone(journal_path=journal)) as server:
        assert server.address is not None
        sender = sender_to(server.address)
        submit(sender, 2)
        assert sender.wait_acked(5.0)
        sender.close()
    size = journal.stat().st_size
    with journal.open("ab") as f:
        f.write(b"\xff\x00\x00\x00partial")
    with running_server(standalone(journal_path=journal)) as server:
        aggregator = server.aggregator(RUN)
        assert aggregator is not None
        assert aggregator.snapshot().completeness.intervals_received == 2
    assert journal.stat().st_size == size
