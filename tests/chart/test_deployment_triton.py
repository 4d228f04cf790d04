"""templates/deployment-triton.yaml"""

from __future__ import annotations

from tests.chart.conftest import Manifest, find


def triton(objects: list[Manifest]) -> tuple[Manifest, Manifest]:
    deployment = find(objects, "Deployment", "triton")
    spec = deployment["spec"]["template"]["spec"]
    (container,) = [c for c in spec["containers"] if c["name"] == "triton"]
    return spec, container


def test_gpu_pool_placement_limits_and_shm(by_values: dict[str, list[Manifest]]):
    spec, container = triton(by_values["gpu"])
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in \
        spec["tolerations"]
    (term,) = spec["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    (rule,) = term["matchExpressions"]
    assert rule == {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-L4"]}
    shm = next(v for v in spec["volumes"] if v["name"] == "shm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "8Gi"}
    assert {"name": "shm", "mountPath": "/dev/shm"} in container["volumeMounts"]


def test_server_flags_and_probes(by_values: dict[str, list[Manifest]]):
    spec, container = triton(by_values["gpu"])
    args = container["args"]
    assert "--model-control-mode=none" in args and "--strict-readiness=true" in args
    assert "--model-config-name=cpu" not in args
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 15 * 60  # vLLM + TRT
    grace = spec["terminationGracePeriodSeconds"]
    assert f"--exit-timeout-secs={grace - 10}" in args  # streams finish before SIGKILL


def test_models_are_fetched_into_the_volume(by_values: dict[str, list[Manifest]]):
    spec, container = triton(by_values["gpu"])
    fetch, export = spec["initContainers"]
    assert ("snapclip models fetch --profile gpu --model-repository /models --model whisper "
            "--model llm") in fetch["args"][0]  # the llm into HF_HOME on the volume, pinned
    # The CLIP export needs torch: its own image (Dockerfile target export) runs it after the
    # configs are on the volume.
    assert export["image"].endswith("-export")
    assert export["command"] == ["snapclip", "models", "fetch", "--profile", "gpu", "--model",
                                 "clip", "--model-repository", "/models"]
    token = {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
        "name": "snapclip-hf-token", "key": "HF_TOKEN"}}}
    assert token in fetch["env"] and token in export["env"]
    assert "--model-repository=/models" in container["args"]
    (cpu_fetch,) = triton(by_values["cpu"])[0]["initContainers"]
    assert "--model whisper" not in cpu_fetch["args"][0]  # the CPU export runs in place


def test_models_load_one_at_a_time_on_the_gpu(by_values: dict[str, list[Manifest]]):
    assert "--model-load-thread-count=1" in triton(by_values["gpu"])[1]["args"]
    assert "--model-load-thread-count=1" not in triton(by_values["cpu"])[1]["args"]


def test_cpu_profile_has_no_gpu(by_values: dict[str, list[Manifest]]):
    spec, container = triton(by_values["cpu"])
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert "--model-config-name=cpu" in container["args"]
    assert "--allow-gpu-metrics=false" in container["args"]
    assert "affinity" not in spec and "tolerations" not in spec


def test_bucket_repository_reads_credentials_and_skips_the_volume():
    from tests.chart.conftest import render

    objects = render({"triton": {"modelRepository": {
        "source": "s3", "bucketUrl": "s3://models/snapclip", "credentialsSecret": "s3-creds"}}})
    spec, container = triton(objects)
    assert "--model-repository=s3://models/snapclip" in container["args"]
    assert container["envFrom"] == [{"secretRef": {"name": "s3-creds"}}]
    # Nothing is fetched; the TensorRT cache folders on the scratch volume are made first.
    (prepare,) = spec["initContainers"]
    assert prepare["command"][:3] == ["snapclip", "models", "caches"]
    assert {"name": "models", "mountPath": "/models"} in prepare["volumeMounts"]
    assert not [o for o in objects if o["_template"] == "pvc-triton-models.yaml"]
    models = next(v for v in spec["volumes"] if v["name"] == "models")
    assert "emptyDir" in models  # the caches the configs keep under /models still have a home


def test_engine_caches_live_on_the_model_volume(by_values: dict[str, list[Manifest]]):
    """The TensorRT cache paths in the GPU model configs are on the mounted model volume."""
    import re

    from tests.chart.conftest import CHART

    _, container = triton(by_values["gpu"])
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    paths = []
    for config in (CHART.parents[1] / "model_repository").glob("*/config.pbtxt"):
        paths += re.findall(r'"trt_(?:engine|timing)_cache_path", value: "([^"]+)"',
                            config.read_text())
    assert paths and all(p.startswith(mounts["models"] + "/") for p in paths), paths
