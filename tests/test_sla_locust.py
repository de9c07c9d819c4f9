"""The SLA inside Locust: options, live abort, reports and the exit code."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import gevent
import pytest
from locust.env import Environment

from sla.locust_hooks import SlaOptions, SlaSession, start_sla
from sla.source import SnapshotSource, connect_snapshots
from sla.spec import parse_sla
from sla.testing import RunBuilder

ABORTING = {
    "thresholds": [
        {
            "metric": "error_rate",
            "max": "1%",
            "abort_on_fail": True,
            "abort_grace": "2s",
        },
    ]
}


class RecordingRunner:
    """Stands in for Locust's runner: notes how the SLA asked it to stop."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def quit(self) -> None:
        self.calls.append("quit")

    def stop(self) -> None:
        self.calls.append("stop")


def environment(tmp_path: Path, *, headless: bool = True, **options: str) -> Any:
    parsed = argparse.Namespace(
        sla="",
        sla_report="",
        junit="",
        html_report="",
        headless=headless,
        num_users=5,
        spawn_rate=5.0,
        locustfile="mix.py",
        mcp_protocol="auto",
    )
    for name, value in options.items():
        setattr(parsed, name, value)
    env = Environment(parsed_options=parsed, host="http://127.0.0.1:1/mcp")
    env.runner = RecordingRunner()  # type: ignore[assignment]
    return env


def session_for(env: Any, run: RunBuilder, sla: dict[str, Any] | None) -> SlaSession:
    connect_snapshots(env, SnapshotSource(run.snapshot, run.finish))
    spec = parse_sla(sla, "sla.yaml") if sla is not None else None
    session = SlaSession(env, SlaOptions.of(env), spec, clock=run.clock)
    session.on_test_start()
    return session


def failing_second(run: RunBuilder) -> None:
    run.record("ping", 1_000, count=90).record("ping", 1_000, "transport", count=10)
    run.end_interval()


def test_a_live_breach_past_the_grace_quits_a_headless_run(tmp_path: Path) -> None:
    """The abort decision makes the session ask Locust to quit, once."""
    env = environment(tmp_path)
    run = RunBuilder()
    session = session_for(env, run, ABORTING)
    failing_second(run)
    assert session.tick() is None
    failing_second(run)
    assert session.tick() is not None
    session.tick()
    gevent.sleep(0)  # let the spawned quit run
    assert env.runner.calls == ["quit"]


def test_a_live_abort_stops_a_web_ui_run_without_quitting(tmp_path: Path) -> None:
    """With the web UI the test stops and the UI stays up."""
    env = environment(tmp_path, headless=False)
    run = RunBuilder()
    session = session_for(env, run, ABORTING)
    for _ in range(3):
        failing_second(run)
        session.tick()
    assert env.runner.calls == ["stop"]


def test_quitting_writes_every_report_and_sets_the_exit_code(tmp_path: Path) -> None:
    """At quit the JSON, JUnit and HTML reports exist and the code is set."""
    paths = {name: tmp_path / name for name in ("r.json", "r.xml", "r.html")}
    env = environment(
        tmp_path,
        sla_report=str(paths["r.json"]),
        junit=str(paths["r.xml"]),
        html_report=str(paths["r.html"]),
    )
    run = RunBuilder()
    session = session_for(env, run, ABORTING)
    for _ in range(3):
        failing_second(run)
        session.tick()
    session.on_quitting()
    report = json.loads(paths["r.json"].read_text())
    assert env.process_exit_code == 1
    assert report["sla"]["aborted"]["elapsed_s"] == 2.0
    assert report["run"]["target_url"] == "http://127.0.0.1:1/mcp"
    assert all(path.exists() for path in paths.values())


def test_a_run_within_the_sla_exits_0_despite_failures(tmp_path: Path) -> None:
    """The SLA replaces Locust's exit 1 on any failure."""
    env = environment(tmp_path)
    run = RunBuilder()
    session = session_for(
        env, run, {"thresholds": [{"metric": "error_rate", "max": "20%"}]}
    )
    failing_second(run)
    session.on_quitting()
    assert env.process_exit_code == 0


def test_without_options_or_aggregator_locust_keeps_its_exit_code(
    tmp_path: Path,
) -> None:
    """No SLA option and no connected aggregator: the SLA stays out of the way."""
    env = environment(tmp_path)
    session = SlaSession(env, SlaOptions.of(env), None)
    session.on_test_start()
    session.on_quitting()
    assert env.process_exit_code is None


def test_an_aggregator_without_sla_judges_failures(tmp_path: Path) -> None:
    """With results but no SLA file, any failed request exits 1."""
    env = environment(tmp_path)
    run = RunBuilder()
    session = session_for(env, run, None)
    failing_second(run)
    session.on_quitting()
    assert env.process_exit_code == 1


def test_no_results_at_all_exit_3(tmp_path: Path) -> None:
    """A source that never delivers a snapshot leaves the data incomplete."""
    report_path = tmp_path / "r.json"
    env = environment(tmp_path, sla_report=str(report_path))
    connect_snapshots(env, SnapshotSource(lambda: None, lambda: None))
    session = SlaSession(env, SlaOptions.of(env), parse_sla(ABORTING))
    session.on_test_start()
    session.on_quitting()
    assert env.process_exit_code == 3
    assert json.loads(report_path.read_text())["sla"]["status"] == "incomplete"


def test_a_bad_sla_file_exits_2_before_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """init stops Locust with exit code 2 and a message naming the key."""
    sla = tmp_path / "sla.yaml"
    sla.write_text("thresholds:\n  - metric: latency.p99\n    maximum: 1us\n")
    env = environment(tmp_path, sla=str(sla))
    with pytest.raises(SystemExit) as caught:
        start_sla(env)
    assert caught.value.code == 2
    assert "thresholds[0].maximum: unknown key; did you mean max?" in caplog.text


def test_an_unwritable_report_path_exits_2_before_the_run(tmp_path: Path) -> None:
    """A report folder that does not exist is caught at init."""
    env = environment(tmp_path, junit=str(tmp_path / "missing" / "j.xml"))
    with pytest.raises(SystemExit) as caught:
        start_sla(env)
    assert caught.value.code == 2


def test_the_negotiated_revision_comes_from_worker_events(tmp_path: Path) -> None:
    """An mcp.negotiated event names the revision in the report's run."""
    report_path = tmp_path / "r.json"
    env = environment(tmp_path, sla_report=str(report_path))
    run = RunBuilder().event("mcp.negotiated", 0.1, {"revision": "2025-11-25"})
    session = session_for(env, run, None)
    run.record("ping", 1_000)
    session.on_quitting()
    assert json.loads(report_path.read_text())["run"]["mcp_revision"] == "2025-11-25"


def test_a_failure_while_judging_still_ends_with_no_verdict(tmp_path: Path) -> None:
    """If the final snapshot cannot be had, the run exits 3, not with a pass."""
    env = environment(tmp_path, sla=str(tmp_path / "unused.yaml"))

    def broken() -> None:
        raise RuntimeError("aggregator gone")

    connect_snapshots(env, SnapshotSource(lambda: None, broken))
    session = SlaSession(env, SlaOptions.of(env), parse_sla(ABORTING))
    session.on_quitting()
    assert env.process_exit_code == 3


def test_another_modules_configuration_error_keeps_exit_code_2(
    tmp_path: Path,
) -> None:
    """If a plugin already set exit code 2 at init, quitting leaves it."""
    env = environment(tmp_path, sla_report=str(tmp_path / "r.json"))
    run = RunBuilder()
    session = session_for(env, run, None)
    env.process_exit_code = 2
    session.on_quitting()
    assert env.process_exit_code == 2
    assert not (tmp_path / "r.json").exists()
