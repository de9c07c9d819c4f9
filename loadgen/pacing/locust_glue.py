"""The open model inside Locust: options, one pacer per worker, the users' turn.

Importing this module (``loadgen.options`` does) registers the options
``--arrival-rate``, ``--arrival-stages``, ``--arrival-shape``, ``--poisson``
and ``--arrival-drop-after``, and listeners on Locust's events:

- ``init``: checks the options (exit code 2 on a mistake, before any load);
  the master and a local run register the report's ``open_model`` section.
- ``test_start``: the master splits the rate evenly among the workers it
  has and tells each its share and the common start (a custom message,
  sent before Locust's spawn messages, so it arrives first); a worker or a
  local run creates its pacer. A schedule with an end (stages) stops the
  test when it ends.
- ``test_stop``: the stage timer goes.

McpUser calls :func:`take_turn` before each call of its workload: in the
closed model it returns None at once; in the open model it waits for the
user's turn and returns the request's intended start (epoch seconds),
which the user puts into the request event's context as
``intended_start_s``. The schedule replaces the user's ``wait_time``.
"""

from __future__ import annotations

import logging
import sys
import time
import weakref
from dataclasses import dataclass, replace
from typing import Any

import gevent
import numpy as np
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from loadgen.aggregator.results import PacingCounts, RunSnapshot
from loadgen.errors import EXIT_CONFIG_ERROR, ConfigError
from loadgen.locust_plugin import results_hub
from loadgen.pacing.arrivals import Arrivals, EvenArrivals, PoissonArrivals
from loadgen.pacing.config import SHAPE_CHOICES, OpenModelConfig, config_from_options
from loadgen.pacing.pacer import Pacer

logger = logging.getLogger(__name__)

SHARE_MESSAGE = "mcp_loadgen_pacing_share"


@dataclass(frozen=True)
class Share:
    """Master -> worker: which part of the schedule is this worker's."""

    index: int
    count: int
    start_epoch_s: float

    def to_message(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_message(cls, data: Any) -> Share:
        try:
            share = cls(
                int(data["index"]), int(data["count"]), float(data["start_epoch_s"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed pacing share: {data!r:.200}") from exc
        if not 0 <= share.index < share.count:
            raise ValueError(f"pacing share {share.index} of {share.count}")
        return share


@dataclass(frozen=True)
class OpenModelRun:
    """The open model of the current run, as the master (or local run) set it."""

    config: OpenModelConfig
    workers: int
    start_epoch_s: float
    # When the test stopped; None while it runs.
    stop_epoch_s: float | None = None

    def span_s(self, now_epoch_s: float) -> float:
        """Seconds the schedule ran: to the stop, or to now while running."""
        end_s = now_epoch_s if self.stop_epoch_s is None else self.stop_epoch_s
        return max(end_s - self.start_epoch_s, 0.0)


_runs: weakref.WeakKeyDictionary[Environment, OpenModelRun] = (
    weakref.WeakKeyDictionary()
)
_pacers: weakref.WeakKeyDictionary[Environment, Pacer] = weakref.WeakKeyDictionary()
_shares: weakref.WeakKeyDictionary[Environment, Share] = weakref.WeakKeyDictionary()
# Workers asked to pace without a share: their users stop rather than send
# unpaced load.
_unshared: weakref.WeakSet[Environment] = weakref.WeakSet()
_stage_timers: weakref.WeakKeyDictionary[Environment, gevent.Greenlet] = (
    weakref.WeakKeyDictionary()
)


# Options ---------------------------------------------------------------------


@events.init_command_line_parser.add_listener
def add_pacing_arguments(parser: LocustArgumentParser, **_kwargs: Any) -> None:
    # Added to the parser itself, not to a group: Locust's web UI shows only
    # the custom options added directly.
    parser.add_argument(
        "--arrival-rate",
        type=float,
        default=None,
        metavar="PER_S",
        help="Open model: requests per second in total across all workers, "
        "sent on schedule whether or not the server keeps up",
    )
    parser.add_argument(
        "--arrival-stages",
        default="",
        metavar="STAGES",
        help="Open model in stages, e.g. 30s:100,1m:100,30s:0 (DURATION:RATE); "
        "the run ends after the last",
    )
    parser.add_argument(
        "--arrival-shape",
        choices=tuple(SHAPE_CHOICES),
        default=None,
        help="Stages ramp linearly from the previous rate (ramp, the default) "
        "or hold their rate (steps)",
    )
    parser.add_argument(
        "--poisson",
        action="store_true",
        default=False,
        help="Open model: random (Poisson) arrivals instead of evenly spaced",
    )
    parser.add_argument(
        "--arrival-drop-after",
        default=None,
        metavar="DURATION",
        help="Open model: drop (count, do not send) a request not sent this "
        "long after its intended start (default 30s)",
    )


def open_model_config(environment: Environment) -> OpenModelConfig | None:
    """The open model this process's options ask for (None: closed model)."""
    return config_from_options(getattr(environment, "parsed_options", None))


# Locust events ---------------------------------------------------------------


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        _listen_for_shares(environment, runner)
        return
    try:
        config = open_model_config(environment)
    except ConfigError as exc:
        logger.error("%s", exc)
        sys.exit(EXIT_CONFIG_ERROR)
    if config is not None:
        logger.info("Open model: %s", config.describe())
    _register_report_section(environment)


def _listen_for_shares(environment: Environment, runner: WorkerRunner) -> None:
    def on_share(msg: Any, **_kwargs: Any) -> None:
        try:
            _shares[environment] = Share.from_message(msg.data)
        except ValueError as exc:
            logger.error("Open model: cannot use the master's share: %s", exc)

    runner.register_message(SHARE_MESSAGE, on_share)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    _pacers.pop(environment, None)
    _runs.pop(environment, None)
    _unshared.discard(environment)
    try:
        config = open_model_config(environment)
    except ConfigError as exc:
        # The master checked these options at init; a worker that still
        # cannot read them sends nothing paced.
        logger.error("Open model: %s", exc)
        _unshared.add(environment)
        return
    if config is None:
        return
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _start_master(environment, runner, config)
    elif isinstance(runner, WorkerRunner):
        _start_worker(environment, config)
    else:
        share = Share(0, 1, time.time())
        _runs[environment] = OpenModelRun(config, 1, share.start_epoch_s)
        _pacers[environment] = new_pacer(environment, config, share)
        _start_stage_timer(environment, config)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    timer = _stage_timers.pop(environment, None)
    if timer is not None:
        timer.kill(block=False)
    run = _runs.get(environment)
    if run is not None and run.stop_epoch_s is None:
        _runs[environment] = replace(run, stop_epoch_s=time.time())


def _start_master(
    environment: Environment, runner: MasterRunner, config: OpenModelConfig
) -> None:
    """Split the schedule evenly among the workers connected now."""
    workers = sorted(
        node.id for node in runner.clients.values() if node.state != STATE_MISSING
    )
    start_epoch_s = time.time()
    for index, worker_id in enumerate(workers):
        share = Share(index, len(workers), start_epoch_s)
        runner.send_message(SHARE_MESSAGE, share.to_message(), worker_id)
    _runs[environment] = OpenModelRun(config, len(workers), start_epoch_s)
    users = getattr(environment.parsed_options, "num_users", None)
    if isinstance(users, int) and users < len(workers):
        logger.warning(
            "Open model: %s users for %s workers; a worker without users "
            "cannot send its share of the rate",
            users,
            len(workers),
        )
    _start_stage_timer(environment, config)


def _start_worker(environment: Environment, config: OpenModelConfig) -> None:
    share = _shares.get(environment)
    if share is None:
        logger.error(
            "Open model: this worker got no share of the schedule from the "
            "master (it joined after the test started?); its users stop"
        )
        _unshared.add(environment)
        return
    _pacers[environment] = new_pacer(environment, config, share)


def new_pacer(environment: Environment, config: OpenModelConfig, share: Share) -> Pacer:
    """This worker's pacer: its share of the rate, counting into the results."""
    hub = results_hub(environment)
    clock = time.monotonic
    # The common start as a moment on this process's monotonic clock.
    start_s = clock() - (time.time() - share.start_epoch_s)
    arrivals: Arrivals = (
        PoissonArrivals(np.random.default_rng())
        if config.poisson
        else EvenArrivals(share.index / share.count)
    )
    return Pacer(
        config.profile().scaled(1 / share.count),
        arrivals,
        start_s=start_s,
        clock=clock,
        wall_clock=time.time,
        sleep=gevent.sleep,
        count=hub.count if hub is not None else _count_nowhere,
        drop_after_s=config.drop_after_s,
    )


def _count_nowhere(kind: str, n: int) -> None:
    """Without the results plugin (a test's bare environment) nothing counts."""


def _start_stage_timer(environment: Environment, config: OpenModelConfig) -> None:
    end_s = config.profile().end_s
    if end_s == float("inf"):
        return
    _stage_timers[environment] = gevent.spawn(_stop_after, environment, end_s)


def _stop_after(environment: Environment, end_s: float) -> None:
    """Stop the test when its last stage ends (quit when headless)."""
    gevent.sleep(end_s)
    runner = environment.runner
    if runner is None:
        return
    logger.info("Open model: the last stage ended after %s s; stopping", end_s)
    parsed = getattr(environment, "parsed_options", None)
    if parsed is None or getattr(parsed, "headless", True):
        runner.quit()
    else:
        runner.stop()


# The users' turn -------------------------------------------------------------


def _no_wait() -> float:
    """The wait_time of a paced user: the schedule decides when it sends."""
    return 0.0


def take_turn(user: Any) -> float | None:
    """Wait for the user's next turn; its intended start in epoch seconds.

    None in the closed model (at once). Raises Locust's StopUser when the
    schedule has ended, or when this worker has no share of it.
    """
    environment = user.environment
    pacer = _pacers.get(environment)
    if pacer is None:
        if environment in _unshared:
            raise StopUser()
        return None
    if "wait_time" not in vars(user):
        user.wait_time = _no_wait
    turn = pacer.wait_turn()
    if turn is None:
        raise StopUser()
    return turn.intended_epoch_s


# Reports ---------------------------------------------------------------------


def describe_load_model(environment: Environment) -> str | None:
    """The run's load model for reports, or None in the closed model."""
    run = _runs.get(environment)
    if run is None:
        return None
    users = getattr(environment.parsed_options, "num_users", None)
    pool = f"; a pool of {users} users" if users is not None else ""
    return f"open: {run.config.describe()}{pool}"


def _register_report_section(environment: Environment) -> None:
    try:
        from sla.report_json import register_report_section
    except ImportError:
        return
    ref = weakref.ref(environment)

    def build(snapshot: RunSnapshot) -> dict[str, Any] | None:
        env = ref()
        run = _runs.get(env) if env is not None else None
        return None if run is None else report_section(run, snapshot)

    register_report_section("open_model", build)


def report_section(run: OpenModelRun, snapshot: RunSnapshot) -> dict[str, Any]:
    """The report's ``open_model`` section (docs/sla.md).

    Rates divide by the schedule's own span, from the test's start to its
    stop. ``unsent_count`` is what came due but was neither sent nor
    dropped: still waiting for a free user when the run stopped (a run that
    ends inside a stall leaves that stall's requests there).
    """
    counts = snapshot.cumulative.pacing or PacingCounts(0, 0, 0, 0.0)
    span_s = run.span_s(snapshot.taken_at_s)
    config = run.config
    intended = round(config.profile().count_at(span_s))
    stages = [
        {"duration_s": s.duration_s, "rate_per_s": s.rate_per_s, "shape": s.shape}
        for s in config.stages
    ]
    return {
        "schedule": config.describe(),
        "arrival_rate_per_s": config.arrival_rate_per_s,
        "stages": stages or None,
        "poisson": config.poisson,
        "drop_after_s": config.drop_after_s,
        "workers": run.workers,
        "duration_s": round(span_s, 3),
        "intended_count": intended,
        "sent_count": counts.sent_count,
        "late_count": counts.late_count,
        "dropped_count": counts.dropped_count,
        "unsent_count": max(intended - counts.sent_count - counts.dropped_count, 0),
        "achieved_rate_per_s": round(counts.sent_count / span_s, 3) if span_s else 0.0,
    }
