"""``snapclip serve``'s REST API, metrics and logs against the local Triton."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from orchestrator.proto import load
from tests.service import Service, serving, short_talk, wait_for
from tests.support import ffprobe, metric_value

pytestmark = pytest.mark.integration
pb, pb_grpc = load()
TOKEN = "web-s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPTIONS = {"clips": 1, "min_len_s": 5, "max_len_s": 12}


@pytest.fixture(scope="module")
def service(grpc_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with serving(grpc_url, tmp_path_factory.mktemp("http"), "--max-upload-mb", "1",
                 env={"SNAPCLIP_API_TOKEN": TOKEN}) as running:
        yield running


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_talk(tmp_path_factory.mktemp("talk"))


@pytest.fixture
def client(service: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.http, headers=AUTH, timeout=30) as http:
        yield http


def sse(client: httpx.Client, path: str, **headers: str) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a Server-Sent Events stream, up to its ``result`` event."""
    events, kind, data = [], "message", ""
    with client.stream("GET", path, headers=headers, timeout=600) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif not line and data:
                events.append((kind, json.loads(data)))
                if kind == "result":
                    break
                kind, data = "message", ""
    return events


def test_upload_progress_and_files_end_to_end(client: httpx.Client, service: Service,
                                              talk: Path):
    with talk.open("rb") as f:
        answer = client.post("/v1/jobs/upload", files={"file": ("my talk.mp4", f, "video/mp4")},
                             data={"options": json.dumps(OPTIONS)})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["state"] == "QUEUED" and job["options"] == {**OPTIONS, "min_len_s": 5.0,
                                                           "max_len_s": 12.0}
    events = sse(client, f"/v1/jobs/{job['id']}/events")
    kinds = [k for k, _ in events]
    assert kinds[-1] == "result" and set(kinds[:-1]) == {"progress", "clip_ready"}
    # The clip was announced as soon as it was rendered, before the job ended.
    (ready,) = [e for k, e in events if k == "clip_ready"]
    assert ready["stage"] == "clip_ready" and ready["clip"]["rank"] == 1
    order = ["ingest", "asr", "moments", "select", "render"]
    seen = [e["stage"] for _, e in events[:-1] if e["stage"] in order]
    assert sorted(set(seen), key=seen.index) == order, seen
    progress = [e["progress"] for _, e in events[:-1]]
    assert progress == sorted(progress)
    final = events[-1][1]["result"]
    assert final["state"] == "SUCCEEDED", final
    # The job's folder holds its output; its upload is kept while it has succeeded, for
    # re-renders of its clips.
    (kept,) = (service.jobs / ".uploads").iterdir()
    assert final["source"] == str(kept / "my_talk.mp4")

    got = client.get(f"/v1/jobs/{job['id']}").json()
    manifest = json.loads(got["manifest_json"])
    clip = manifest["clips"][0]
    assert (ready["clip"]["file"], ready["clip"]["start_s"], ready["clip"]["end_s"]) == (
        clip["file"], clip["start_s"], clip["end_s"])
    assert "folder" not in ready["clip"] and "partial" not in ready["message"]
    video = client.get(f"/v1/jobs/{job['id']}/files/{clip['file']}")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content == (service.jobs / job["id"] / clip["file"]).read_bytes()
    part = client.get(f"/v1/jobs/{job['id']}/files/{clip['file']}",
                      headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100  # players seek
    image = client.get(f"/v1/jobs/{job['id']}/files/timeline.png")
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"

    # A broken stream resumes after the last event it saw.
    last = events[-2][1]["id"]
    again = sse(client, f"/v1/jobs/{job['id']}/events", **{"Last-Event-ID": last})
    assert [k for k, _ in again] == ["result"]

    # The same job through gRPC: one runner behind both APIs.
    with grpc.insecure_channel(service.grpc) as channel:
        same = pb_grpc.HighlightsStub(channel).Get(
            pb.GetRequest(job_id=job["id"]), metadata=(("authorization", AUTH["Authorization"]),))
    assert same.state == pb.SUCCEEDED and same.manifest_json == got["manifest_json"]

    # Re-render the clip as edited: trimmed, with edited words, in two aspects.
    start = round(clip["start_s"] + 0.5, 3)
    end = round(min(clip["end_s"], start + 5.0), 3)
    srt = "1\n00:00:00,000 --> 00:00:02,000\nQuokka zebra\n"
    edited = client.post(f"/v1/jobs/{job['id']}/clips/1/render", json={
        "start_s": start, "end_s": end, "captions_srt": srt, "aspect": "9:16,1:1"})
    assert edited.status_code == 200, edited.text
    after = json.loads(edited.json()["manifest_json"])["clips"][0]
    assert (after["revision"], after["start_s"], after["end_s"]) == (2, start, end)
    assert after["captions_edited"] and set(after["renditions"]) == {"9:16", "1:1"}
    shown = client.get(f"/v1/jobs/{job['id']}/files/{after['captions']}").text
    assert "Quokka zebra" in shown
    square = ffprobe(service.jobs / job["id"] / after["renditions"]["1:1"])
    assert float(square["format"]["duration"]) == pytest.approx(end - start, abs=0.15)
    again = sse(client, f"/v1/jobs/{job['id']}/events", **{"Last-Event-ID": last})
    assert any(e["stage"] == "render" and "revision 2" in e["message"] for _, e in again)
    for body, code in (({"start_s": 0.0, "end_s": 0.5}, 400),  # shorter than a clip may be
                       ({"aspect": "4:3"}, 422), ({"captions_srt": "x" * 50_000}, 422),
                       ({"end_s": 1e9}, 400)):
        refused = client.post(f"/v1/jobs/{job['id']}/clips/1/render", json=body)
        assert refused.status_code == code, (body, refused.text)
    assert client.post(f"/v1/jobs/{job['id']}/clips/9/render", json={}).status_code == 400
    assert client.post("/v1/jobs/nope/clips/1/render", json={}).status_code == 404
    assert json.loads(client.get(f"/v1/jobs/{job['id']}").json()["manifest_json"])[
        "clips"][0]["revision"] == 2  # the refused edits changed nothing

    metrics = httpx.get(service.metrics).text
    assert metric_value(metrics, "snapclip_jobs", state="succeeded") >= 1
    for stage in order:
        assert metric_value(metrics, "snapclip_stage_duration_seconds_count", stage=stage) >= 1
    assert metric_value(metrics, "snapclip_triton_request_duration_seconds_count",
                        model="whisper") >= 1
    assert metric_value(metrics, "snapclip_job_duration_seconds_count", state="succeeded") >= 1

    lines = [json.loads(line) for line in service.log.read_text().splitlines()
             if line.startswith("{")]
    mine = [entry for entry in lines if entry.get("job_id") == job["id"]]
    assert {"stage", "seconds"} <= set().union(*mine) and any(
        entry.get("stage") == "render" and "finished" in entry["message"] for entry in mine)


def test_submit_by_source_and_cancel(client: httpx.Client, talk: Path, service: Service):
    answer = client.post("/v1/jobs", json={"source": str(talk), "options": OPTIONS,
                                           "request_id": "rest-1"})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    again = client.post("/v1/jobs", json={"source": "elsewhere.mp4", "request_id": "rest-1"})
    assert again.json()["id"] == job["id"]
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel").json()
    assert cancelled["state"] == "CANCELLED"
    refused = client.post(f"/v1/jobs/{job['id']}/clips/1/render", json={"aspect": "1:1"})
    assert refused.status_code == 409 and "succeeded" in refused.json()["detail"]
    wait_for(lambda: not (service.jobs / job["id"]).exists(), 30, "partial output removed")
    listed = client.get("/v1/jobs", params={"page_size": 50}).json()
    assert job["id"] in [j["id"] for j in listed["jobs"]]


def test_bad_requests(client: httpx.Client, talk: Path):
    assert client.get("/v1/jobs/nope").status_code == 404
    bad = client.post("/v1/jobs", json={"source": str(talk), "options": {"aspect": "4:3"}})
    assert bad.status_code == 422 and "aspect" in str(bad.json()["detail"])  # the schema's
    unknown = client.post("/v1/jobs", json={"source": str(talk), "options": {"clip": 2}})
    assert unknown.status_code == 422  # a misspelt option is refused, not ignored
    assert client.post("/v1/jobs", json={"source": " "}).status_code == 400
    assert client.get("/v1/jobs", params={"page_token": "zzz"}).status_code == 400


def test_upload_limit(client: httpx.Client, service: Service, tmp_path: Path):
    uploads = set((service.jobs / ".uploads").iterdir())  # succeeded jobs keep theirs
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (1024 * 1024 + 10))
    with big.open("rb") as f:
        answer = client.post("/v1/jobs/upload", files={"file": ("big.mp4", f, "video/mp4")})
    assert answer.status_code == 413 and "1 MB" in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as bytes arrive
        boundary = b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\""
        yield boundary + b"\r\nContent-Type: video/mp4\r\n\r\n"
        for _ in range(20):
            yield b"\0" * 100_000
        yield b"\r\n--x--\r\n"

    streamed = client.post("/v1/jobs/upload", content=chunks(),
                           headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert streamed.status_code == 413
    assert set((service.jobs / ".uploads").iterdir()) == uploads  # nothing left behind


def test_token_is_required_on_the_rest_api(service: Service):
    with httpx.Client(base_url=service.http, timeout=30) as anonymous:
        for method, path in (("GET", "/v1/jobs"), ("POST", "/v1/jobs"),
                             ("GET", "/v1/jobs/x/files/clip_01.mp4"),
                             ("GET", "/v1/jobs/x/events")):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                answer = anonymous.request(method, path, headers=headers, json={})
                assert answer.status_code == 401, (method, path, headers)
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/").status_code == 200  # the page itself, which asks for it
        schema = anonymous.get("/openapi.json").json()
        assert {"/v1/jobs", "/v1/jobs/upload", "/v1/jobs/{job_id}/events",
                "/v1/jobs/{job_id}/files/{path}"} <= set(schema["paths"])
        proto_fields = {f.name for f in pb.Job.DESCRIPTOR.fields}
        assert set(schema["components"]["schemas"]["Job"]["properties"]) == proto_fields
        wait_for(lambda: anonymous.get("/readyz").status_code == 200, 20, "ready")

        assert anonymous.post("/v1/session", json={"token": "wrong"}).status_code == 401
        assert anonymous.post("/v1/session", json={"token": TOKEN}).status_code == 204
        assert anonymous.get("/v1/jobs").status_code == 200  # the session cookie


def test_browser_sessions_hold_no_token_expire_and_refuse_cross_site_posts(
        service: Service, talk: Path):
    with httpx.Client(base_url=service.http, timeout=30) as browser:
        login = browser.post("/v1/session", json={"token": TOKEN})
        assert login.status_code == 204
        cookie = login.cookies["snapclip_session"]
        assert TOKEN not in cookie and TOKEN not in login.headers["set-cookie"]
        header = login.headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=strict" in header and "max-age=" in header
        assert "secure" not in header  # plain http, and no trusted proxy says otherwise
        assert browser.get("/v1/jobs").status_code == 200
        own = {"Origin": service.http}
        submitted = browser.post("/v1/jobs", headers=own,
                                 json={"source": str(talk), "options": OPTIONS})
        assert submitted.status_code == 202
        browser.post(f"/v1/jobs/{submitted.json()['id']}/cancel", headers=own)
        for foreign in ({"Origin": "https://evil.example"}, {},
                        {"Referer": "https://evil.example/page"}):
            refused = browser.post("/v1/jobs", headers=foreign,
                                   json={"source": str(talk), "options": OPTIONS})
            assert refused.status_code == 403, foreign
        # A forged or expired cookie is no session; a cookie is not a bearer token.
        expiry, nonce, signature = cookie.split(".")
        for forged in (f"{int(expiry) + 99999}.{nonce}.{signature}", f"1.{nonce}.{signature}",
                       TOKEN):
            browser.cookies.set("snapclip_session", forged)
            assert browser.get("/v1/jobs").status_code == 401, forged
        # Signing out: refused cross-site, and the cookie is gone after it.
        browser.cookies.clear()
        assert browser.post("/v1/session", json={"token": TOKEN}).status_code == 204
        assert browser.delete("/v1/session").status_code == 403  # no Origin: maybe forged
        signed_out = browser.delete("/v1/session", headers=own)
        assert signed_out.status_code == 204 and "max-age=0" in signed_out.headers[
            "set-cookie"].lower()
        assert "snapclip_session" not in browser.cookies
        assert browser.get("/v1/jobs").status_code == 401
    # X-Forwarded-Proto from a client that is not a trusted proxy does not make it Secure.
    with httpx.Client(base_url=service.http, timeout=30) as browser:
        login = browser.post("/v1/session", json={"token": TOKEN},
                             headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in login.headers["set-cookie"].lower()


def test_behind_a_trusted_proxy_the_cookie_is_secure(grpc_url: str, tmp_path: Path):
    with serving(grpc_url, tmp_path, "--trusted-proxies", "127.0.0.1",
                 env={"SNAPCLIP_API_TOKEN": TOKEN}) as svc, \
            httpx.Client(base_url=svc.http, timeout=30) as browser:
        login = browser.post("/v1/session", json={"token": TOKEN},
                             headers={"X-Forwarded-Proto": "https"})
        assert login.status_code == 204 and "secure" in login.headers["set-cookie"].lower()


def test_the_token_is_checked_before_the_body_is_read(service: Service):
    """A 1 GB upload without a token is refused at its head: the server answers 401 without
    waiting for (or storing) a byte of the body."""
    uploads = set((service.jobs / ".uploads").iterdir())  # succeeded jobs keep theirs
    host, port = service.http.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /v1/jobs/upload HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     b"Content-Length: 1000000000\r\n\r\n--x\r\n")
        head = conn.recv(4096).decode()
    assert head.startswith("HTTP/1.1 401"), head
    assert set((service.jobs / ".uploads").iterdir()) == uploads  # nothing left behind


def test_every_post_body_is_limited(client: httpx.Client):
    big = {"source": "x" * 100_000, "options": OPTIONS}
    assert client.post("/v1/jobs", json=big).status_code == 413
    assert client.post("/v1/session", json={"token": "x" * 100_000}).status_code == 413
    assert client.post("/v1/jobs/x/cancel", content=b"x" * 100_000).status_code == 413


def test_files_cannot_escape_the_job_folder(client: httpx.Client, service: Service,
                                            talk: Path):
    job = client.post("/v1/jobs", json={"source": str(talk), "options": OPTIONS}).json()
    final = sse(client, f"/v1/jobs/{job['id']}/events")[-1][1]["result"]
    assert final["state"] == "SUCCEEDED", final
    folder = service.jobs / job["id"]
    (folder / "escape").symlink_to(service.jobs.parent / "jobs.db")
    base = f"/v1/jobs/{job['id']}/files/"
    for attempt in ("..%2F..%2Fjobs.db", "%2e%2e/%2e%2e/jobs.db", "%2Fetc%2Fpasswd",
                    "escape", "."):
        answer = client.get(base + attempt)
        assert answer.status_code in (403, 404) and b"SQLite" not in answer.content, attempt
    assert client.get(base + "..%2F..%2Fjobs.db").status_code == 403
    assert client.get(base + "escape").status_code == 403
    assert client.get(base + "manifest.json").status_code == 200
