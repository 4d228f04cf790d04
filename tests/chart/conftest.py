"""Render helm/snapclip with Helm's own Go SDK (helm-python-sdk): no cluster, no helm binary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "snapclip"
# Name -> values file ("" = the chart's defaults); every policy test runs on each.
VALUES = {"default": "", "gpu": "ci/gpu-values.yaml", "cpu": "ci/cpu-values.yaml"}

Manifest = dict[str, Any]


def values_of(name: str) -> dict[str, Any]:
    return yaml.safe_load((CHART / VALUES[name]).read_text()) if VALUES[name] else {}


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    """Every object the chart renders for ``values``, hook objects included."""
    import helm_python as helm

    chart = helm.Chart.load(CHART)
    rendered = chart.render(values or {}, name="snapclip", namespace="snapclip",
                            is_install=True)
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                document.setdefault("metadata", {}).setdefault("annotations", {})
                objects.append({**document, "_template": path.split("/templates/", 1)[-1]})
    return objects


@pytest.fixture(scope="session", params=list(VALUES))
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    """(values name, rendered objects) for the defaults, the GPU pool and the CPU install."""
    return request.param, render(values_of(request.param))


@pytest.fixture(scope="session")
def by_values() -> dict[str, list[Manifest]]:
    return {name: render(values_of(name)) for name in VALUES}


def find(objects: list[Manifest], kind: str, component: str) -> Manifest:
    (match,) = [o for o in objects if o["kind"] == kind
                and o["metadata"]["labels"].get("app.kubernetes.io/component") == component]
    return match


def containers(pod_spec: Manifest) -> list[Manifest]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def pod_specs(objects: list[Manifest]) -> list[tuple[Manifest, Manifest]]:
    """(object, pod spec) of every workload and test pod."""
    found = []
    for o in objects:
        if o["kind"] in {"Deployment", "StatefulSet"}:
            found.append((o, o["spec"]["template"]["spec"]))
        elif o["kind"] == "Pod":
            found.append((o, o["spec"]))
    return found

