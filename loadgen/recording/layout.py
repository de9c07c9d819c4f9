"""The HDR bucket layout: which bucket index a latency in microseconds maps to.

Theory of operation. An HDR histogram with ``d`` significant digits keeps
``2 * 10**d`` values at unit resolution, rounded up to a power of two
(2,048 for d = 3). Above that, each doubling of the value range is one more
"bucket" of 1,024 sub-buckets whose width doubles too, so the relative width
of a sub-bucket never exceeds 1/1,024 (0.098 %). The counts array is the
concatenation of those buckets, the lower half of every bucket but the first
omitted because the previous bucket already covers it.

The arithmetic below is the one of HdrHistogram (Java and C, and the Python
``hdrhistogram`` package): the same layout means the same indices, so our
counts can be encoded with that package's V2 encoding and merged by any HDR
tool. The tests check index, value and percentile equality against it.

Everything here works on numpy arrays: the recorder buckets a whole interval
of samples in one call instead of one Python call per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

# 1 us .. 1 h at 3 significant digits: the range and precision the issue asks
# for; wider than any MCP call a load test should see.
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3


def _bucket_count(highest: int, sub_bucket_count: int, unit_magnitude: int) -> int:
    """How many buckets it takes until ``highest`` is trackable."""
    smallest_untrackable = sub_bucket_count << unit_magnitude
    buckets = 1
    while smallest_untrackable <= highest:
        smallest_untrackable <<= 1
        buckets += 1
    return buckets


@dataclass(frozen=True)
class HdrLayout:
    """Bucket arithmetic for one (lowest, highest, significant digits) triple."""

    lowest_us: int = LOWEST_US
    highest_us: int = HIGHEST_US
    significant_digits: int = SIGNIFICANT_DIGITS

    unit_magnitude: int = field(init=False)
    sub_bucket_half_count_magnitude: int = field(init=False)
    sub_bucket_count: int = field(init=False)
    sub_bucket_half_count: int = field(init=False)
    sub_bucket_mask: int = field(init=False)
    bucket_count: int = field(init=False)
    counts_len: int = field(init=False)

    def __post_init__(self) -> None:
        if self.lowest_us < 1 or self.highest_us < 2 * self.lowest_us:
            raise ValueError("HdrLayout needs 1 <= lowest and 2 * lowest <= highest")
        if not 1 <= self.significant_digits <= 5:
            raise ValueError("HdrLayout needs 1 to 5 significant digits")
        unit = self.lowest_us.bit_length() - 1
        # ceil(log2(2 * 10**d)) without floating point.
        count_magnitude = (2 * 10**self.significant_digits - 1).bit_length()
        half_magnitude = max(count_magnitude - 1, 0)
        sub_count = 1 << (half_magnitude + 1)
        buckets = _bucket_count(self.highest_us, sub_count, unit)
        derived = {
            "unit_magnitude": unit,
            "sub_bucket_half_count_magnitude": half_magnitude,
            "sub_bucket_count": sub_count,
            "sub_bucket_half_count": sub_count // 2,
            "sub_bucket_mask": (sub_count - 1) << unit,
            "bucket_count": buckets,
            "counts_len": (buckets + 1) * (sub_count // 2),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def index_for(self, values_us: npt.ArrayLike) -> IntArray:
        """Counts-array index of each value (values must be in 0..highest_us)."""
        values = np.asarray(values_us, dtype=np.int64)
        masked = values | self.sub_bucket_mask
        # frexp's exponent is the bit length, exact for integers below 2**53.
        bit_length = np.frexp(masked.astype(np.float64))[1].astype(np.int64)
        bucket = (
            bit_length
            - self.unit_magnitude
            - (self.sub_bucket_half_count_magnitude + 1)
        )
        sub_bucket = values >> (bucket + self.unit_magnitude)
        base = (bucket + 1) << self.sub_bucket_half_count_magnitude
        return base + sub_bucket - self.sub_bucket_half_count

    def _bucket_of_index(self, indices: IntArray) -> tuple[IntArray, IntArray]:
        """(bucket, sub-bucket) of each counts-array index."""
        bucket = (indices >> self.sub_bucket_half_count_magnitude) - 1
        sub_bucket = (indices & (self.sub_bucket_half_count - 1)) + (
            self.sub_bucket_half_count
        )
        first = bucket < 0
        sub_bucket = np.where(
            first, sub_bucket - self.sub_bucket_half_count, sub_bucket
        )
        return np.where(first, 0, bucket), sub_bucket

    def lowest_equivalent_us(self, indices: npt.ArrayLike) -> IntArray:
        """Smallest value that lands in each index."""
        bucket, sub_bucket = self._bucket_of_index(np.asarray(indices, np.int64))
        return sub_bucket << (bucket + self.unit_magnitude)

    def bucket_width_us(self, indices: npt.ArrayLike) -> IntArray:
        """How many distinct values share each index."""
        bucket, _ = self._bucket_of_index(np.asarray(indices, np.int64))
        return np.left_shift(np.int64(1), bucket + self.unit_magnitude)

    def highest_equivalent_us(self, indices: npt.ArrayLike) -> IntArray:
        """Largest value that lands in each index (what percentiles report)."""
        return self.lowest_equivalent_us(indices) + self.bucket_width_us(indices) - 1

    def median_equivalent_us(self, indices: npt.ArrayLike) -> IntArray:
        """The middle of each index's range (what HDR means are computed on)."""
        return self.lowest_equivalent_us(indices) + (self.bucket_width_us(indices) >> 1)


DEFAULT_LAYOUT = HdrLayout()
