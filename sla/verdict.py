"""The run's verdict and the process exit code it maps to.

The codes are stable; scripts and CI systems rely on them (docs/sla.md):

- 0: every threshold holds (with no SLA: no request failed);
- 1: a threshold failed, or the live evaluation aborted the run;
- 2: a configuration or usage error, before any load was sent;
- 3: the run's data is incomplete (intervals or workers lost), so no
  verdict can be trusted. It wins over 1: a failure measured on partial data
  is as untrustworthy as a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from loadgen.aggregator.results import RunSnapshot
from loadgen.errors import EXIT_CONFIG_ERROR
from sla.evaluate import ThresholdResult, evaluate_run
from sla.live import Abort
from sla.spec import SlaSpec

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_CONFIG = EXIT_CONFIG_ERROR
EXIT_INCOMPLETE = 3

PASSED = "passed"
FAILED = "failed"
INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Verdict:
    """What a run's results say, threshold by threshold and as a whole."""

    results: tuple[ThresholdResult, ...]
    complete: bool
    aborted: Abort | None = None
    has_sla: bool = True
    failed_requests: int = 0

    @property
    def passed(self) -> bool:
        """Every threshold holds and nothing aborted (no SLA: no failures)."""
        if not self.has_sla:
            return self.failed_requests == 0
        return self.aborted is None and all(r.passed for r in self.results)

    @property
    def status(self) -> str:
        if not self.complete:
            return INCOMPLETE
        return PASSED if self.passed else FAILED

    @property
    def exit_code(self) -> int:
        if not self.complete:
            return EXIT_INCOMPLETE
        return EXIT_PASSED if self.passed else EXIT_FAILED


def judge(
    spec: SlaSpec | None, snapshot: RunSnapshot, aborted: Abort | None = None
) -> Verdict:
    """Evaluate ``spec`` (if any) on a finished run and say what it means."""
    results = evaluate_run(spec, snapshot) if spec is not None else ()
    return Verdict(
        results=results,
        complete=snapshot.completeness.complete,
        aborted=aborted,
        has_sla=spec is not None,
        failed_requests=snapshot.cumulative.total.failure_count,
    )
