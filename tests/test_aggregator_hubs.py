"""The results path of each Locust role, driven in one process without Locust."""

from __future__ import annotations

import logging
from typing import Any

import gevent
import pytest

from loadgen.aggregator.hubs import (
    Announcement,
    LocalHub,
    MasterHub,
    ResultsOptions,
    WorkerHub,
)
from loadgen.aggregator.results import RunSnapshot
from loadgen.aggregator.security import Endpoint

FAST = ResultsOptions(report_interval_s=0.1, final_flush_timeout_s=3.0)


def fire(hub: LocalHub | WorkerHub, name: str, latency_ms: float, n: int) -> None:
    for _ in range(n):
        hub.listener(name=name, response_time=latency_ms, exception=None, context={})


def test_announcement_round_trips_and_rejects_garbage() -> None:
    """An announcement survives Locust's message; a broken one is a ValueError."""
    announcement = Announcement("run-1", "0.0.0.0", 5558, True, 1.0)
    assert Announcement.from_message(announcement.to_message()) == announcement
    with pytest.raises(ValueError, match="malformed"):
        Announcement.from_message({"run_id": "x"})


def test_local_hub_merges_every_request_and_completes_once() -> None:
    """A local run's requests all reach the aggregator; on_complete fires once."""
    hub = LocalHub(FAST, worker_id="local")
    completed: list[RunSnapshot] = []
    hub.on_complete.add(completed.append)
    hub.begin_run(0.1)
    fire(hub, "ping", 1.5, 40)
    gevent.sleep(0.25)
    fire(hub, "ping", 3.0, 10)
    hub.end_run()
    first = hub.finalize()
    second = hub.finalize()
    hub.close()
    assert first is second and first is not None
    assert first.cumulative.total.count == 50
    assert first.completeness.complete
    assert len(first.intervals) >= 2
    assert len(completed) == 1


def test_local_finalize_during_a_run_stops_the_test_first() -> None:
    """A reader asking for final results mid-run gets every request recorded."""
    hub = LocalHub(FAST, worker_id="local")
    stopped: list[bool] = []
    hub.stop_test = lambda: stopped.append(True)
    hub.begin_run(0.1)
    fire(hub, "ping", 1.0, 7)
    snapshot = hub.finalize()
    hub.close()
    assert stopped == [True]
    assert snapshot is not None and snapshot.cumulative.total.count == 7


@pytest.mark.parametrize(
    ("announced", "master_host", "expected"),
    [
        ("0.0.0.0", "10.0.0.5", "10.0.0.5"),
        ("*", "master", "master"),
        ("10.0.0.9", "10.0.0.5", "10.0.0.9"),
        ("127.0.0.1", "127.0.0.1", "127.0.0.1"),
    ],
)
def test_worker_resolves_the_announced_host(
    announced: str, master_host: str, expected: str
) -> None:
    """A wildcard bind means: the host this worker reaches the master at."""
    hub = WorkerHub(FAST, worker_id="w", master_host=master_host)
    endpoint = hub._endpoint(Announcement("r", announced, 5558, False, 1.0))
    hub.close()
    assert endpoint == Endpoint(expected, 5558)


def test_worker_warns_when_the_aggregator_is_loopback_on_a_remote_master(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Loopback on the master cannot be reached from another host: say so."""
    caplog.set_level(logging.WARNING)
    hub = WorkerHub(FAST, worker_id="w", master_host="10.0.0.5")
    hub._endpoint(Announcement("r", "127.0.0.1", 5558, False, 1.0))
    hub.close()
    assert "--aggregator-bind" in caplog.text


def test_worker_own_address_wins() -> None:
    """--aggregator-address given to the worker overrides the announcement."""
    options = ResultsOptions(address="127.0.0.1:6000")
    hub = WorkerHub(options, worker_id="w", master_host="m")
    endpoint = hub._endpoint(Announcement("r", "0.0.0.0", 5558, False, 1.0))
    hub.close()
    assert endpoint == Endpoint("127.0.0.1", 6000)


class Cluster:
    """A master hub and worker hubs wired as Locust would wire them."""

    def __init__(self, workers: int) -> None:
        self.states: dict[str, str] = {}
        self.workers = [
            WorkerHub(FAST, worker_id=f"w{i}", master_host="127.0.0.1")
            for i in range(workers)
        ]
        self.master = MasterHub(FAST, self.announce, lambda: dict(self.states))
        self.master.start()
        for worker in self.workers:
            self.states[worker.worker_id] = "live"

    def announce(self, data: dict[str, Any], client_id: str | None) -> None:
        for worker in self.workers:
            if client_id in (None, worker.worker_id):
                worker.on_announcement(data)

    def close(self) -> None:
        for hub in (*self.workers, self.master):
            hub.close()


def test_master_collects_every_worker_and_waits_for_finals() -> None:
    """Two workers' requests all arrive; finalize waits for both final intervals."""
    cluster = Cluster(2)
    try:
        cluster.master.begin_run(0.1)
        for worker in cluster.workers:
            worker.begin_run(0.1)
            fire(worker, "tools/call echo", 2.0, 30)
        gevent.sleep(0.35)
        for worker in cluster.workers:
            fire(worker, "ping", 0.5, 5)
            worker.end_run()
        cluster.master.end_run()
        snapshot = cluster.master.finalize()
    finally:
        cluster.close()
    assert snapshot is not None
    assert snapshot.cumulative.total.count == 70
    assert snapshot.completeness.workers_finished == 2
    assert snapshot.completeness.complete


def test_master_does_not_wait_for_a_worker_locust_reports_missing() -> None:
    """A worker Locust marks missing is not waited for; it is reported lost."""
    cluster = Cluster(2)
    try:
        cluster.master.begin_run(0.1)
        for worker in cluster.workers:
            worker.begin_run(0.1)
            fire(worker, "ping", 1.0, 10)
        gevent.sleep(0.35)
        dead = cluster.workers[0]
        dead.close()
        cluster.states[dead.worker_id] = "missing"
        cluster.workers[1].end_run()
        started = gevent.get_hub().loop.now()
        cluster.master.end_run()
        snapshot = cluster.master.finalize()
        waited_s = gevent.get_hub().loop.now() - started
    finally:
        cluster.close()
    assert snapshot is not None
    assert waited_s < FAST.final_flush_timeout_s
    assert [w.worker_id for w in snapshot.completeness.lost_workers] == ["w0"]
    assert snapshot.completeness.workers_finished == 1


def test_worker_that_joins_late_gets_the_announcement_on_hello() -> None:
    """A worker's hello makes the master repeat the current announcement."""
    cluster = Cluster(0)
    try:
        cluster.master.begin_run(0.1)
        late = WorkerHub(FAST, worker_id="late", master_host="127.0.0.1")
        cluster.workers.append(late)
        cluster.master.on_hello("late")
        assert late.announcement == cluster.master.announcement
    finally:
        cluster.close()


def test_intervals_recorded_before_the_announcement_are_sent_after_it() -> None:
    """Without an announcement intervals wait in a backlog, then go in order."""
    cluster = Cluster(0)
    worker = WorkerHub(FAST, worker_id="w", master_host="127.0.0.1")
    try:
        worker.begin_run(0.1)
        fire(worker, "ping", 1.0, 4)
        gevent.sleep(0.25)
        cluster.master.begin_run(0.1)
        cluster.workers.append(worker)
        cluster.master.on_hello("w")
        worker.end_run()
        assert worker.drain(3.0)
        snapshot = cluster.master.finalize()
    finally:
        worker.close()
        cluster.close()
    assert snapshot is not None
    assert snapshot.cumulative.total.count == 4
    assert snapshot.completeness.complete
