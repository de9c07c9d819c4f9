"""docker-compose.yml runs the commands the distributed tests run, and is valid."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_distributed import master_args, target_args, worker_args

REPO = Path(__file__).resolve().parents[1]
MIX = "locustfiles/mcp_mix.py"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def command(service: str) -> list[str]:
    return [str(part) for part in compose()["services"][service]["command"]]


def test_services_are_target_master_and_worker() -> None:
    """The three services the issue names exist (plus the one-shot keys)."""
    assert set(compose()["services"]) == {"keys", "target", "master", "worker"}


def test_target_runs_the_demo_target_command() -> None:
    """The target service runs the command the tests start the target with."""
    assert command("target") == ["python", *target_args(host="0.0.0.0", port=8000)]


def test_master_runs_the_master_command() -> None:
    """The master service is the tests' master command, aggregator on the network."""
    expected = master_args(
        MIX, "http://target:8000", master_port=5557, aggregator_bind="0.0.0.0:5558"
    )
    assert command("master") == ["locust", *expected]
    assert "8089:8089" in compose()["services"]["master"]["ports"]


def test_worker_runs_the_worker_command() -> None:
    """The worker service is the tests' worker command, pointed at the master."""
    expected = worker_args(MIX, master_host="master", master_port=5557)
    assert command("worker") == ["locust", *expected]


def test_non_loopback_aggregator_gets_curve_keys() -> None:
    """Master and workers share the keys volume and name it for the aggregator."""
    services = compose()["services"]
    for name in ("master", "worker"):
        assert services[name]["environment"]["MCP_LOADGEN_AGGREGATOR_KEYS"] == "/keys"
        assert "keys:/keys" in services[name]["volumes"]


def test_base_image_is_a_build_argument() -> None:
    """The Dockerfile's base image is an argument defaulting to python:3.11-slim."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "FROM ${BASE_IMAGE}" in dockerfile


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose not installed"
)
def test_docker_compose_config_validates() -> None:
    """docker-compose itself accepts the file."""
    done = subprocess.run(
        ["docker-compose", "config", "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
