"""The SLA file: every metric, unit and option, and each kind of bad input."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadgen.errors import ConfigError
from sla.spec import Bound, SlaSpec, load_sla_file, parse_sla

EXAMPLE = """\
thresholds:
  - metric: latency.p99
    target: "tools/call *"
    max: 250ms
    window: 10s
  - metric: error_rate
    max: 1%
    abort_on_fail: true
    abort_grace: 15s
"""


def one(threshold: dict[str, object]) -> SlaSpec:
    return parse_sla({"thresholds": [threshold]}, "sla.yaml")


def error_of(data: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_sla(data, "sla.yaml")
    return caught.value


def test_the_issue_example_parses(tmp_path: Path) -> None:
    """The documented example reads into two thresholds with their options."""
    path = tmp_path / "sla.yaml"
    path.write_text(EXAMPLE)
    first, second = load_sla_file(path).thresholds
    assert (first.metric.name, first.target, first.limit, first.window_s) == (
        "latency.p99",
        "tools/call *",
        0.25,
        10.0,
    )
    assert (second.abort_on_fail, second.abort_grace_s, second.limit) == (
        True,
        15.0,
        0.01,
    )


@pytest.mark.parametrize(
    ("metric", "limit", "canonical"),
    [
        ("latency.p50", "5ms", 0.005),
        ("latency.p99", "250ms", 0.25),
        ("latency.p99.9", "1s", 1.0),
        ("latency.p99.99", "2s", 2.0),
        ("latency.p100", "3s", 3.0),
        ("latency.mean", "20ms", 0.02),
        ("latency.min", "1us", 1e-6),
        ("latency.max", "1.5s", 1.5),
        ("error_rate", "1%", 0.01),
        ("error_rate.transport", "0.5%", 0.005),
        ("error_rate.http_status", 0.01, 0.01),
        ("error_rate.protocol", "0%", 0.0),
        ("error_rate.jsonrpc_error", "2%", 0.02),
        ("error_rate.tool_error", "5%", 0.05),
        ("error_rate.error", "1%", 0.01),
        ("rps", 50, 50.0),
        ("count", 1000, 1000.0),
    ],
)
def test_every_metric_parses_with_its_unit(
    metric: str, limit: object, canonical: float
) -> None:
    """Each metric name resolves and its limit lands in the canonical unit."""
    (threshold,) = one({"metric": metric, "max": limit}).thresholds
    assert threshold.metric.name == metric
    assert threshold.limit == pytest.approx(canonical)


def test_min_is_a_lower_bound() -> None:
    """min: judges that the value stays at or above the limit."""
    (threshold,) = one({"metric": "rps", "min": 100}).thresholds
    assert threshold.bound is Bound.MIN
    assert threshold.holds(100) and not threshold.holds(99.9)


def test_max_includes_the_limit() -> None:
    """max: 250ms passes at exactly 250 ms."""
    (threshold,) = one({"metric": "latency.p99", "max": "250ms"}).thresholds
    assert threshold.holds(0.25) and not threshold.holds(0.2501)


def test_the_compact_form_reads_beside_the_long_form() -> None:
    """targets: maps a glob to one-line rules, strict or inclusive."""
    spec = parse_sla(
        {
            "thresholds": [{"metric": "count", "min": 1}],
            "targets": {
                "tools/call *": ["p99 < 250ms", "error_rate <= 1% over 10s"],
                "ping": "mean < 5ms",
            },
        },
        "sla.yaml",
    )
    _, p99, errors, ping = spec.thresholds
    assert (p99.metric.name, p99.target, p99.inclusive) == (
        "latency.p99",
        "tools/call *",
        False,
    )
    assert not p99.holds(0.25)
    assert (errors.metric.name, errors.window_s, errors.inclusive) == (
        "error_rate",
        10.0,
        True,
    )
    assert (ping.metric.name, ping.origin) == ("latency.mean", "targets['ping'][0]")


def test_a_compact_greater_than_is_a_lower_bound() -> None:
    """ "rps > 50" is a min threshold that excludes 50."""
    spec = parse_sla({"targets": {"*": ["rps > 50"]}}, "sla.yaml")
    (threshold,) = spec.thresholds
    assert threshold.bound is Bound.MIN and not threshold.holds(50)


def test_a_misspelled_key_names_the_file_path_rule_and_value() -> None:
    """maximum: is an error naming the file, the key's path and the fix."""
    error = error_of({"thresholds": [{"metric": "latency.p99", "maximum": "1us"}]})
    text = str(error)
    assert text.startswith("sla.yaml: thresholds[0].maximum: unknown key")
    assert "did you mean max?" in text
    assert "'1us'" in text


def test_an_unknown_top_level_key_is_an_error() -> None:
    """A stray top-level key is refused, not ignored."""
    error = error_of({"threshold": []})
    assert error.field == "threshold"
    assert "did you mean thresholds?" in str(error)


def test_an_unknown_metric_lists_what_exists() -> None:
    """A metric typo gets a suggestion and the list of known metrics."""
    error = error_of({"thresholds": [{"metric": "latency.p999x", "max": "1s"}]})
    assert error.field == "thresholds[0].metric"
    assert "known metrics" in error.rule


def test_an_unknown_outcome_class_is_an_unknown_metric() -> None:
    """error_rate.transprot is a typo, not a metric that is always zero."""
    error = error_of({"thresholds": [{"metric": "error_rate.transprot", "max": 0.1}]})
    assert "did you mean error_rate.transport?" in error.rule


@pytest.mark.parametrize(
    ("threshold", "field", "rule"),
    [
        ({"max": "1s"}, "thresholds[0].metric", "needs a metric"),
        ({"metric": "rps"}, "thresholds[0]", "needs max or min"),
        ({"metric": "rps", "max": 1, "min": 0}, "thresholds[0]", "not both"),
        ({"metric": "latency.p99", "max": 250}, "thresholds[0].max", "time unit"),
        ({"metric": "error_rate", "max": "2ms"}, "thresholds[0].max", "unknown unit"),
        ({"metric": "count", "min": "ten"}, "thresholds[0].min", "number"),
        ({"metric": "rps", "min": 1, "window": 10}, "thresholds[0].window", "unit"),
        ({"metric": "rps", "min": 1, "window": "0s"}, "thresholds[0].window", "zero"),
        ({"metric": "rps", "min": 1, "target": ""}, "thresholds[0].target", "glob"),
        (
            {"metric": "rps", "min": 1, "abort_on_fail": "yes please"},
            "thresholds[0].abort_on_fail",
            "true or false",
        ),
        (
            {"metric": "rps", "min": 1, "abort_grace": "5s"},
            "thresholds[0].abort_grace",
            "needs abort_on_fail",
        ),
        (
            {"metric": "rps", "min": 1, "abort_on_fail": True, "abort_grace": 5},
            "thresholds[0].abort_grace",
            "time unit",
        ),
        ({"metric": "rps", "min": 1, "name": 5}, "thresholds[0].name", "text"),
    ],
)
def test_each_bad_field_is_named_with_its_rule(
    threshold: dict[str, object], field: str, rule: str
) -> None:
    """Every kind of bad threshold names the field and the rule it broke."""
    error = error_of({"thresholds": [threshold]})
    assert error.source == "sla.yaml"
    assert error.field == field
    assert rule in error.rule


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], ""),
        ({"thresholds": {"metric": "rps"}}, "thresholds"),
        ({"thresholds": ["rps < 5"]}, "thresholds[0]"),
        ({"version": 2, "thresholds": []}, "version"),
        ({"targets": ["p99 < 1s"]}, "targets"),
        ({"targets": {"ping": ["p99 is small"]}}, "targets['ping'][0]"),
        ({"targets": {"ping": [5]}}, "targets['ping'][0]"),
        ({"targets": {"ping": {"p99": "1s"}}}, "targets['ping']"),
        ({"thresholds": []}, ""),
    ],
)
def test_each_bad_document_shape_is_refused(data: object, field: str) -> None:
    """Wrong top-level shapes, versions and compact rules are config errors."""
    assert error_of(data).field == field


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    """A missing SLA file is a config error naming the path."""
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml: cannot read"):
        load_sla_file(missing)


def test_broken_yaml_says_where(tmp_path: Path) -> None:
    """A YAML syntax error names the line."""
    path = tmp_path / "sla.yaml"
    path.write_text("thresholds:\n  - metric: [unclosed\n")
    with pytest.raises(ConfigError, match="line 3"):
        load_sla_file(path)


def test_labels_read_as_the_rule() -> None:
    """A threshold's label states metric, target, limit and window."""
    spec = parse_sla({"targets": {"tools/call *": ["p99 < 250ms over 10s"]}})
    assert spec.thresholds[0].label == "latency.p99{tools/call *} < 250ms over 10s"


def test_a_given_name_is_the_label() -> None:
    """name: replaces the generated label (used in JUnit and HTML)."""
    spec = one({"metric": "rps", "min": 1, "name": "keeps serving"})
    assert spec.thresholds[0].label == "keeps serving"


def test_the_shipped_default_sla_parses() -> None:
    """sla/default.yaml, the demo's SLA, is valid."""
    spec = load_sla_file(Path(__file__).parents[1] / "sla" / "default.yaml")
    assert len(spec.thresholds) >= 4


yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=True)
    | st.sampled_from(
        ["250ms", "1%", "p99 < 1s", "latency.p99", "max", "tools/call *", "10s", ""]
    )
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "thresholds",
                    "targets",
                    "metric",
                    "max",
                    "min",
                    "window",
                    "target",
                    "abort_on_fail",
                    "abort_grace",
                    "name",
                    "version",
                    "maximum",
                ]
            )
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(yaml_values)
def test_any_document_parses_or_raises_a_config_error(data: object) -> None:
    """Whatever the YAML holds, the parser returns a spec or a ConfigError."""
    with contextlib.suppress(ConfigError):
        parse_sla(data, "fuzz.yaml")
