"""The open model end to end, through Locust as a user runs it.

Two runs side by side (module fixture, about 22 s in all), each against its
own demo target, with ``locustfiles/mcp_mix.py``, 10 users and
``--arrival-rate 200``:

- ``stall``: 20 s against a target that stalls 1 s in every 5 s. About a
  fifth of the intended starts fall into a stall and wait for its end
  (0..1 s), so from the intended start p95 is near 750 ms and p99 near
  950 ms; measured from the send, only requests in flight when a stall
  began waited.
- ``steady``: 10 s against a target that does not stall: the pool keeps up,
  so the schedule's rate is what goes out.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support import LocustRun, demo_target, run_locust

RATE_PER_S = 200
STALL_FLAGS = ("--stall-every", "5s", "--stall-for", "1s")

Run = tuple[LocustRun, dict[str, Any]]


def open_model_run(url: str, tmp_path: Path, run_time: str) -> Run:
    """One headless run at --arrival-rate 200 with an SLA report; both read."""
    tmp_path.mkdir()
    report_path = tmp_path / "R.json"
    run = run_locust(
        url,
        tmp_path,
        "--arrival-rate",
        str(RATE_PER_S),
        "--sla-report",
        str(report_path),
        users=10,
        run_time=run_time,
        timeout_s=90,
    )
    assert report_path.exists(), run.output[-3000:]
    return run, json.loads(report_path.read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    tmp_path = tmp_path_factory.mktemp("open-model")
    with (
        demo_target(*STALL_FLAGS) as stalling,
        demo_target() as steady,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        stall = pool.submit(open_model_run, stalling, tmp_path / "stall", "20s")
        even = pool.submit(open_model_run, steady, tmp_path / "steady", "10s")
        return {"stall": stall.result(), "steady": even.result()}


def test_corrected_latency_shows_the_stalls(runs: dict[str, Run]) -> None:
    """latency_ms (from the intended start) has p99 >= 800 ms and p95 >= 500 ms."""
    _, report = runs["stall"]
    latency = report["totals"]["latency_ms"]
    assert latency["p99"] >= 800
    assert latency["p95"] >= 500


def test_uncorrected_latency_hides_them(runs: dict[str, Run]) -> None:
    """uncorrected_latency_ms (from the send) has p95 below 100 ms."""
    _, report = runs["stall"]
    assert report["totals"]["uncorrected_latency_ms"]["p95"] < 100


def test_late_requests_are_counted_in_report_and_summary(runs: dict[str, Run]) -> None:
    """Stalls exhaust the pool: the late count is in the report and the summary."""
    run, report = runs["stall"]
    late = report["open_model"]["late_count"]
    # Three or four stalls, each about 200 intended starts minus 10 users.
    assert late > 300
    summary = re.search(r"Open model: \d+ requests sent.*?(\d+) late", run.output)
    assert summary is not None, run.output[-3000:]
    assert int(summary.group(1)) == late


def test_a_stalled_run_accounts_for_every_intended_start(runs: dict[str, Run]) -> None:
    """Sent plus unsent (waiting when the run stopped) is what came due."""
    _, report = runs["stall"]
    model = report["open_model"]
    accounted = model["sent_count"] + model["unsent_count"] + model["dropped_count"]
    # A run ending inside a stall leaves up to one stall of requests unsent.
    assert model["unsent_count"] <= RATE_PER_S * 1.1
    assert accounted == pytest.approx(model["intended_count"], abs=10)


def test_the_achieved_rate_is_within_two_percent(runs: dict[str, Run]) -> None:
    """Without stalls the pool keeps up: 200/s go out, within 2 %."""
    _, report = runs["steady"]
    model = report["open_model"]
    assert model["achieved_rate_per_s"] == pytest.approx(RATE_PER_S, rel=0.02)
    assert model["late_count"] < 20


def test_the_report_names_the_open_model(runs: dict[str, Run]) -> None:
    """run.load_model says open, with the rate and the pool."""
    _, report = runs["steady"]
    assert report["run"]["load_model"] == (
        "open: 200/s constant, evenly spaced; a pool of 10 users"
    )
