"""The end-of-run percentile table, printed after Locust's own summary.

Locust's table rounds latencies on the workers to about two significant
digits; this one comes from the merged HDR histograms (three significant
digits) and states how complete the data is, so a reader knows whether to
trust it.

Under the open model it prints two tables, as wrk2 does: latency from each
request's intended start (corrected for coordinated omission), then from
its actual send, followed by the schedule's sent, late and dropped counts.
"""

from __future__ import annotations

from collections.abc import Callable

from loadgen.aggregator.results import (
    Completeness,
    NameResult,
    PacingCounts,
    ResultSet,
    RunSnapshot,
)

PERCENTILES = (50.0, 90.0, 99.0, 99.9, 99.99)
_HEADERS = ("p50", "p90", "p99", "p99.9", "p99.99", "max")
NAME_WIDTH = 40


def _ms(us: float) -> str:
    """Milliseconds with three significant digits, the histogram's precision."""
    ms = us / 1000.0
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.3g}" if ms >= 1 else f"{ms:.3f}"


def _row(result: NameResult) -> str:
    name = result.name
    if len(name) > NAME_WIDTH:
        name = name[: NAME_WIDTH - 3] + "..."
    values = [_ms(v) for v in result.percentiles_us(PERCENTILES).values()]
    values.append(_ms(result.max_us))
    cells = "".join(f"{v:>9}" for v in values)
    return f"{name:<{NAME_WIDTH}}{result.count:>10}{result.failure_count:>9}{cells}"


def completeness_line(c: Completeness) -> str:
    text = (
        f"Workers: {c.workers_seen} seen, {c.workers_finished} finished; "
        f"intervals: {c.intervals_received} received, {c.intervals_missing} missing"
    )
    for lost in c.lost_workers:
        text += (
            f"\nLost worker {lost.worker_id}: last interval {lost.last_seq}, "
            f"about {lost.intervals_lost} interval(s) lost"
        )
    rejected = sum(c.rejected_frames.values())
    if rejected:
        text += f"\nRejected frames: {rejected} ({dict(c.rejected_frames)})"
    if c.clamped_low_count or c.clamped_high_count:
        text += (
            f"\nLatencies clamped to the 0 us .. 1 h range: "
            f"{c.clamped_low_count} below, {c.clamped_high_count} above"
        )
    return text


def pacing_line(pacing: PacingCounts) -> str:
    """The open model's counts in one line."""
    return (
        f"Open model: {pacing.sent_count} requests sent on the schedule "
        f"({pacing.achieved_rate_per_s:.1f}/s over {pacing.duration_s:.1f} s); "
        f"{pacing.late_count} late (no user free at their intended start), "
        f"{pacing.dropped_count} dropped (too late to send)"
    )


def _table(
    title: str, results: ResultSet, side: Callable[[NameResult], NameResult]
) -> list[str]:
    header = f"{'Name':<{NAME_WIDTH}}{'# reqs':>10}{'# fails':>9}" + "".join(
        f"{h:>9}" for h in _HEADERS
    )
    rule = "-" * len(header)
    lines = [title, header, rule]
    lines += [_row(side(results.by_name[name])) for name in results.names]
    lines += [rule, _row(side(results.total))]
    return lines


def format_percentile_table(snapshot: RunSnapshot) -> str:
    """Per-name percentiles in milliseconds, the total last, then completeness."""
    cumulative = snapshot.cumulative
    pacing = cumulative.pacing
    if pacing is None and cumulative.total.uncorrected is None:
        lines = _table(
            "Response time percentiles from the result aggregator (HDR, ms)",
            cumulative,
            lambda result: result,
        )
    else:
        lines = _table(
            "Response time percentiles from the result aggregator (HDR, ms), "
            "from each request's intended start (corrected)",
            cumulative,
            lambda result: result,
        )
        lines += [""] + _table(
            "Response time percentiles from the actual send (uncorrected)",
            cumulative,
            NameResult.as_uncorrected,
        )
        if pacing is not None:
            lines += ["", pacing_line(pacing)]
    lines += ["", completeness_line(snapshot.completeness)]
    return "\n".join(lines) + "\n"
