"""Live evaluation: judge the thresholds at every report interval, abort early.

The live evaluator sees the run as the aggregator knows it at each
interval. A threshold with a window is judged on the newest full window
(``RunSnapshot.last``), one without on the run so far. Run metrics, and
minimums on counts (which the run so far has not reached yet by nature), are
judged only at the end, so they take no part here.

It logs when a threshold starts breaching and when it holds again (one line
per change, not per interval), and it decides on an abort: the first breach
of a threshold with ``abort_on_fail`` once the run is older than that
threshold's ``abort_grace``. Stopping the test is its caller's job, so this
stays pure and takes its clock as an argument.

The newest interval may still be missing frames of slow workers when it is
judged; the whole-run evaluation at the end recomputes everything from
complete data and is what the verdict rests on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from loadgen.aggregator.results import RunSnapshot
from sla.evaluate import has_full_window
from sla.spec import SlaSpec, Threshold
from sla.units import format_time, format_value

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class Abort:
    """The live breach that stopped the run."""

    index: int
    threshold: Threshold
    observed: float
    # Seconds from the start of the test to the decision.
    elapsed_s: float


@dataclass
class _State:
    breached: bool = False
    first_breach_s: float | None = None


def live_value(threshold: Threshold, snapshot: RunSnapshot) -> float | None:
    """The threshold's metric over the newest full window or the run so far."""
    metric = threshold.metric
    if metric.of_requests is None or threshold.judged_at_end_only:
        return None
    if threshold.window_s is None:
        return metric.of_requests(snapshot.cumulative.select(threshold.target))
    if not has_full_window(snapshot, threshold.window_s):
        return None
    return metric.of_requests(
        snapshot.last(threshold.window_s).select(threshold.target)
    )


class LiveEvaluator:
    """Judges each interval's snapshot; remembers breaches and the abort."""

    def __init__(
        self, spec: SlaSpec, *, clock: Clock, started_at_s: float | None = None
    ) -> None:
        self.spec = spec
        self._clock = clock
        self.started_at_s = clock() if started_at_s is None else started_at_s
        self._states = [_State() for _ in spec.thresholds]
        self.abort: Abort | None = None

    def first_breach_s(self, index: int) -> float | None:
        """When threshold ``index`` first breached live (seconds from start)."""
        return self._states[index].first_breach_s

    def observe(self, snapshot: RunSnapshot) -> Abort | None:
        """Judge one snapshot; the abort decision, once there is one."""
        elapsed_s = self._clock() - self.started_at_s
        for index, threshold in enumerate(self.spec.thresholds):
            value = live_value(threshold, snapshot)
            if value is None:
                continue
            breached = not threshold.holds(value)
            self._note(index, threshold, breached, value, elapsed_s)
            if breached and self._may_abort(threshold, elapsed_s):
                self.abort = Abort(index, threshold, value, elapsed_s)
                self._log_abort(self.abort)
        return self.abort

    def _may_abort(self, threshold: Threshold, elapsed_s: float) -> bool:
        return (
            self.abort is None
            and threshold.abort_on_fail
            and elapsed_s >= threshold.abort_grace_s
        )

    def _note(
        self,
        index: int,
        threshold: Threshold,
        breached: bool,
        value: float,
        elapsed_s: float,
    ) -> None:
        state = self._states[index]
        if breached == state.breached:
            return
        state.breached = breached
        shown = _shown(threshold, value)
        if breached:
            if state.first_breach_s is None:
                state.first_breach_s = elapsed_s
            logger.warning(
                "SLA: %s breached after %s: observed %s",
                threshold.label,
                format_time(elapsed_s),
                shown,
            )
        else:
            logger.info(
                "SLA: %s holds again after %s: observed %s",
                threshold.label,
                format_time(elapsed_s),
                shown,
            )

    def _log_abort(self, abort: Abort) -> None:
        logger.error(
            "SLA: stopping the test after %s: %s failed with %s (limit %s)",
            format_time(abort.elapsed_s),
            abort.threshold.label,
            _shown(abort.threshold, abort.observed),
            abort.threshold.limit_text,
        )


def _shown(threshold: Threshold, value: float) -> str:
    return format_value(value, threshold.metric.quantity)
