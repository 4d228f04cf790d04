"""Every container of every workload and test pod: resources, probes, non-root, read-only."""

from __future__ import annotations

from tests.chart.conftest import Manifest, containers, pod_specs


def test_every_container_has_requests_and_limits(rendered: tuple[str, list[Manifest]]):
    name, objects = rendered
    for owner, spec in pod_specs(objects):
        for c in containers(spec):
            resources = c.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(part, {})), \
                    (name, owner["_template"], c["name"], part)


def test_every_long_running_container_has_probes(rendered: tuple[str, list[Manifest]]):
    name, objects = rendered
    for owner, spec in pod_specs(objects):
        if owner["kind"] == "Pod":  # helm test pods run to completion
            continue
        for c in spec["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in c, (name, owner["_template"], c["name"], probe)


def test_every_container_is_non_root_and_read_only(rendered: tuple[str, list[Manifest]]):
    name, objects = rendered
    for owner, spec in pod_specs(objects):
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True and pod.get("runAsUser", 0) > 0, owner["_template"]
        assert spec.get("automountServiceAccountToken") is False, owner["_template"]
        for c in containers(spec):
            ctx = c.get("securityContext", {})
            where = (name, owner["_template"], c["name"])
            assert ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], where
            # A read-only root needs somewhere to write: /tmp is a volume wherever HOME is.
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            if env.get("HOME") == "/tmp":
                assert "/tmp" in {m["mountPath"] for m in c.get("volumeMounts", [])}, where


def test_images_are_pinned(rendered: tuple[str, list[Manifest]]):
    _, objects = rendered
    for _owner, spec in pod_specs(objects):
        for c in containers(spec):
            image = c["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
