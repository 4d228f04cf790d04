"""templates/deployment-orchestrator.yaml and the Secrets it reads."""

from __future__ import annotations

import base64

from tests.chart.conftest import Manifest, find


def orchestrator(objects: list[Manifest]) -> Manifest:
    spec = find(objects, "Deployment", "orchestrator")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return container


def test_serves_all_apis_against_this_releases_triton(by_values: dict[str, list[Manifest]]):
    c = orchestrator(by_values["default"])
    args = c["args"]
    assert args[0] == "serve" and "--host=0.0.0.0" in args
    assert "--triton=snapclip-triton:8001" in args
    assert {p["name"] for p in c["ports"]} == {"grpc", "http", "metrics"}
    assert c["readinessProbe"] == {"grpc": {"port": 50051}, "periodSeconds": 10,
                                   "failureThreshold": 3}
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"  # not tied to Triton


def test_secrets_come_from_secrets(by_values: dict[str, list[Manifest]]):
    objects = by_values["default"]
    env = {e["name"]: e for e in orchestrator(objects)["env"]}
    assert env["SNAPCLIP_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "snapclip-database", "key": "url"}
    assert env["SNAPCLIP_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] == "token"
    assert env["SNAPCLIP_WORKER_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    secret = next(o for o in objects if o["kind"] == "Secret"
                  and o["metadata"]["name"] == "snapclip-database")
    url = base64.b64decode(secret["data"]["url"]).decode()
    assert url.startswith("postgresql+psycopg://snapclip:") and "@snapclip-postgresql:5432" in url
    token = next(o for o in objects if o["metadata"]["name"] == "snapclip-api-token")
    assert len(base64.b64decode(token["data"]["token"])) == 40


def test_external_database_secret(by_values: dict[str, list[Manifest]]):
    objects = by_values["gpu"]
    env = {e["name"]: e for e in orchestrator(objects)["env"]}
    assert env["SNAPCLIP_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == \
        "snapclip-database"
    assert not [o for o in objects if o["metadata"]["name"] == "snapclip-database"]
    assert not [o for o in objects if o["kind"] == "StatefulSet"]


def test_jobs_are_shared_and_models_read_only(by_values: dict[str, list[Manifest]]):
    objects = by_values["gpu"]
    spec = find(objects, "Deployment", "orchestrator")["spec"]["template"]["spec"]
    jobs = next(o for o in objects if o["kind"] == "PersistentVolumeClaim"
                and o["metadata"]["name"] == "snapclip-orchestrator-jobs")
    assert jobs["spec"]["accessModes"] == ["ReadWriteMany"]
    models = next(v for v in spec["volumes"] if v["name"] == "models")
    assert models["persistentVolumeClaim"] == {"claimName": "snapclip-triton-models",
                                               "readOnly": True}


# scripts/bench_memory.py, measured on 2026-12-02 (the figures are in values.yaml's comment):
# the idle service, one job's peak on a 240-minute input, FFmpeg rendering one clip.
SERVICE_IDLE_MB, JOB_PEAK_MB, RENDER_PEAK_MB = 125, 274, 300


def _mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for unit, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    return float(quantity) / 2**20


def test_memory_fits_the_jobs_a_replica_runs(by_values: dict[str, list[Manifest]]):
    container = orchestrator(by_values["default"])
    (concurrency,) = [int(a.split("=")[1]) for a in container["args"]
                      if a.startswith("--concurrency=")]
    need = SERVICE_IDLE_MB + concurrency * (JOB_PEAK_MB + RENDER_PEAK_MB)
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    assert _mebibytes(requests["memory"]) >= need
    assert 2 * need <= _mebibytes(limits["memory"]) <= 4 * need  # headroom, not guesswork
