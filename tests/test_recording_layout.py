"""The HDR layout and histogram agree with hdrhistogram, value for value."""

from __future__ import annotations

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from loadgen.recording.histogram import Histogram
from loadgen.recording.layout import DEFAULT_LAYOUT, HIGHEST_US, HdrLayout

EDGES = [0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 10**6, HIGHEST_US]


def reference(values: list[int]) -> HdrHistogram:
    hdr = HdrHistogram(1, HIGHEST_US, 3)
    for value in values:
        assert hdr.record_value(int(value))
    return hdr


def sample(seed: int, n: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 5_000, n // 4)
    wide = rng.lognormal(9, 2.5, n).astype(np.int64)
    return np.clip(np.concatenate([low, wide, EDGES]), 0, HIGHEST_US)


def test_layout_dimensions_match_hdrhistogram() -> None:
    """Bucket count and counts length equal the library's for 1 us .. 1 h, 3 digits."""
    hdr = HdrHistogram(1, HIGHEST_US, 3)
    assert DEFAULT_LAYOUT.counts_len == hdr.counts_len == 23_552
    assert DEFAULT_LAYOUT.bucket_count == hdr.bucket_count
    assert DEFAULT_LAYOUT.sub_bucket_count == hdr.sub_bucket_count


@pytest.mark.parametrize(
    ("lowest", "highest", "digits"), [(1, 10**6, 2), (1000, 10**9, 3), (1, 2**40, 5)]
)
def test_other_layouts_match_hdrhistogram(
    lowest: int, highest: int, digits: int
) -> None:
    """The derivation holds for other ranges and precisions too."""
    layout = HdrLayout(lowest, highest, digits)
    hdr = HdrHistogram(lowest, highest, digits)
    values = [lowest, lowest * 3, highest // 7, highest]
    assert layout.counts_len == hdr.counts_len
    assert layout.index_for(values).tolist() == [
        hdr._counts_index_for(v) for v in values
    ]


def test_index_for_equals_library_on_edges_and_samples() -> None:
    """The vectorized value->index mapping equals the library's for every value."""
    values = sample(1)
    hdr = HdrHistogram(1, HIGHEST_US, 3)
    expected = [hdr._counts_index_for(int(v)) for v in values]
    assert DEFAULT_LAYOUT.index_for(values).tolist() == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=HIGHEST_US))
def test_index_for_equals_library_for_any_value(value: int) -> None:
    """Any value in range maps to the library's index."""
    hdr = HdrHistogram(1, HIGHEST_US, 3)
    assert int(DEFAULT_LAYOUT.index_for([value])[0]) == hdr._counts_index_for(value)


def test_equivalent_values_equal_library() -> None:
    """Lowest and highest equivalent values of every index match the library."""
    hdr = HdrHistogram(1, HIGHEST_US, 3)
    indices = np.arange(0, DEFAULT_LAYOUT.counts_len, 37)
    lowest = [hdr.get_value_from_index(int(i)) for i in indices]
    highest = [hdr.get_highest_equivalent_value(v) for v in lowest]
    assert DEFAULT_LAYOUT.lowest_equivalent_us(indices).tolist() == lowest
    assert DEFAULT_LAYOUT.highest_equivalent_us(indices).tolist() == highest


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_equal_library(seed: int) -> None:
    """Bucketed counts equal the library's counts array, index for index."""
    values = sample(seed)
    hdr = reference(values.tolist())
    ours = Histogram.from_values(values).to_dense()
    assert ours.tolist() == list(hdr.counts)


@pytest.mark.parametrize("seed", [4, 5])
def test_statistics_equal_library(seed: int) -> None:
    """Percentiles, min, max, mean and stdev equal hdrhistogram's exactly."""
    values = sample(seed)
    hdr = reference(values.tolist())
    ours = Histogram.from_values(values)
    percentiles = [0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0, 33.3]
    assert ours.percentiles_us(percentiles) == [
        hdr.get_value_at_percentile(p) for p in percentiles
    ]
    assert (ours.min_us, ours.max_us) == (hdr.get_min_value(), hdr.get_max_value())
    assert ours.mean_us == pytest.approx(hdr.get_mean_value(), rel=1e-12)
    assert ours.stdev_us == pytest.approx(hdr.get_stddev(), rel=1e-9)


def test_encode_hdr_is_read_by_the_library() -> None:
    """encode_hdr gives V2 text hdrhistogram decodes to the same counts."""
    values = sample(6)
    ours = Histogram.from_values(values)
    decoded = HdrHistogram.decode(ours.encode_hdr())
    assert decoded.get_total_count() == ours.count
    assert decoded.get_value_at_percentile(99.0) == ours.percentile_us(99.0)
    assert Histogram.decode_hdr(ours.encode_hdr()).to_dense().tolist() == (
        ours.to_dense().tolist()
    )


def test_merge_is_exact() -> None:
    """Merging histograms equals bucketing all their samples at once."""
    parts = [sample(seed, 3_000) for seed in (7, 8, 9)]
    merged = Histogram.merge(Histogram.from_values(p) for p in parts)
    whole = Histogram.from_values(np.concatenate(parts))
    assert merged.to_dense().tolist() == whole.to_dense().tolist()


def test_empty_histogram_statistics_are_zero() -> None:
    """An empty histogram answers 0 rather than failing."""
    empty = Histogram()
    assert empty.count == 0
    assert empty.percentile_us(99) == 0
    assert (empty.min_us, empty.max_us, empty.mean_us, empty.stdev_us) == (0, 0, 0, 0)
