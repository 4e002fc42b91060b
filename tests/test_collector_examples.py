"""The Collector configurations in examples/ are whole: every pipeline names components that are defined, both
signals reach otel-errors, retries are on, and the load-balanced one routes by trace id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("name", ["otel-collector.yaml", "collector-loadbalancing.yaml"])
def test_every_pipeline_uses_defined_components_and_carries_traces_and_logs(name: str) -> None:
    config = _load(name)
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"traces", "logs"}  # exceptions come as span events and as log records
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], (name, kind, component)
    for exporter in config["exporters"].values():
        otlp = exporter.get("protocol", {}).get("otlp", exporter)
        assert otlp["retry_on_failure"]["enabled"] is True and otlp["sending_queue"]["enabled"] is True


def test_the_load_balanced_collector_routes_each_trace_to_one_receiver() -> None:
    exporter = _load("collector-loadbalancing.yaml")["exporters"]["loadbalancing"]
    assert exporter["routing_key"] == "traceID"
    receivers = exporter["resolver"]["static"]["hostnames"]
    assert len(receivers) >= 2 and all(host.endswith(":4317") for host in receivers)
    assert exporter["protocol"]["otlp"]["headers"]["authorization"].startswith("Bearer ")
