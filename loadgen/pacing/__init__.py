"""The open model: requests start on an arrival schedule, not when users are free.

Locust's users form a closed model: each sends, waits for the answer, waits
its ``wait_time``, and sends again, so a server that stalls also stalls the
load, and the latency arriving clients would have seen is never measured
(coordinated omission). Here the schedule decides when each request
starts; the users are a pool that takes requests from it.

Data flow: ``config`` (the options) -> ``profile`` (rate over time, and its
inverse) + ``arrivals`` (positions: evenly spaced or Poisson) -> ``pacer``
(one per worker: turns, late and dropped requests) -> McpUser, through
``locust_glue.take_turn``. The recorder then measures each request from its
intended start (corrected) and from its actual send (uncorrected).
"""

from loadgen.pacing.arrivals import EvenArrivals, PoissonArrivals
from loadgen.pacing.config import OpenModelConfig, config_from_options
from loadgen.pacing.pacer import DEFAULT_DROP_AFTER_S, Pacer, Turn
from loadgen.pacing.profile import RAMP, STEP, RateProfile, Stage

__all__ = [
    "DEFAULT_DROP_AFTER_S",
    "RAMP",
    "STEP",
    "EvenArrivals",
    "OpenModelConfig",
    "Pacer",
    "PoissonArrivals",
    "RateProfile",
    "Stage",
    "Turn",
    "config_from_options",
]
