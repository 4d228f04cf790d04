"""The REST mirror of ``snapclip.v1.Highlights`` and the creators' web page (FastAPI).

It runs in the same process as the gRPC server (one job runner, one store, one set of
metrics) on its own port. Requests and responses are the proto3 JSON mapping of the gRPC
messages (``rest_schema``); progress streams as Server-Sent Events; a job's files are served
from its folder only. With a token configured, every ``/v1`` route needs
``Authorization: Bearer <token>`` or the session cookie that ``POST /v1/session`` sets for the
web page (browsers cannot add headers to ``<video>`` or ``EventSource`` requests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    FastAPI,
    Form,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from google.protobuf import json_format
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.contracts.limits import (
    DEFAULT_PAGE_SIZE,
    MAX_CLIPS,
    MAX_PAGE_SIZE,
    MAX_PAGE_TOKEN_CHARS,
)
from orchestrator.errors import InputError
from orchestrator.service import rest_schema as rest
from orchestrator.service.auth import Sessions, bearer, matches, same_origin
from orchestrator.service.health import ServiceHealth
from orchestrator.service.jobs_api import JobsApi, JobStateError, pb
from orchestrator.store.jobs import UnknownJobError

log = logging.getLogger("snapclip.http")

COOKIE = "snapclip_session"
UPLOAD_PATH = "/v1/jobs/upload"
BODY_LIMIT = 64 * 1024  # any request body but an upload's
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class SessionRequest(BaseModel):
    token: str


class HealthBody(BaseModel):
    status: str  # "ok" or "unavailable"
    store: str
    workers: str
    triton: str


class ErrorBody(BaseModel):
    detail: Any  # a sentence; for 422, FastAPI's list of field errors


_ERRORS = {
    400: "A value the service refuses (an option out of range, a bad page token).",
    401: "Missing or wrong API token (with a token configured).",
    403: "A cross-site request with a session cookie, or a file outside the job's folder.",
    404: "No such job (or file of the job).",
    409: "The job is not in a state that allows this (its clips are re-rendered only once it "
         "succeeded).",
    413: "The request body is larger than the limit.",
    422: "The request does not match the schema.",
    503: "Not ready: the job store does not answer or a worker is down.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error status codes a route can answer."""
    return {code: {"model": ErrorBody, "description": _ERRORS[code]} for code in codes}


def answers(model: type[BaseModel]) -> dict[str, Any]:
    """Route arguments for a proto-message answer: unset optional fields are left out."""
    return {"response_model": model, "response_model_exclude_none": True}


def safe_filename(name: str | None) -> str:
    """A file name that cannot leave its folder or surprise a shell; keeps the extension."""
    base = _SAFE_NAME.sub("_", Path(name or "").name).strip("._")
    return base[:120] or "upload"


def job_file(out_dir: str | None, relative: str) -> Path:
    """The file ``relative`` inside a job's output folder, refusing anything outside it."""
    if not out_dir:
        raise HTTPException(404, "this job has no files (it has not succeeded)")
    root = Path(out_dir).resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        raise HTTPException(403, "that path is outside the job's folder")
    if not target.is_file():
        raise HTTPException(404, f"no file {relative!r} in this job")
    return target


class Gate:
    """ASGI middleware in front of the app: the token and the body size are checked from the
    request's head, before a byte of its body is read - FastAPI reads (and spools to disk) a
    multipart body before any route dependency runs, so a check there comes too late.

    - ``/v1`` routes (except ``POST /v1/session``, the login) need ``Authorization: Bearer
      <token>`` or a valid session cookie; a cookie-authenticated request that changes state
      must come from this service's own page (``Origin``/``Referer``: CSRF).
    - Every body is limited: uploads to ``upload_limit``, any other request to
      ``body_limit`` - by ``Content-Length`` up front, and by counting as it arrives.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, sessions: Sessions | None,
                 upload_limit: int, body_limit: int = BODY_LIMIT) -> None:
        self.app = app
        self.token = token
        self.sessions = sessions
        self.upload_limit = upload_limit
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refused = self._refusal(scope, headers)
        if refused is not None:
            await refused(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] == UPLOAD_PATH else self.body_limit
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await JSONResponse({"detail": _too_large(limit)}, status_code=413)(
                scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                # FastAPI lets an HTTPException raised while reading the body through.
                raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counted, send)

    def _refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        path, method = scope["path"], scope["method"]
        if self.token is None or not path.startswith("/v1/") or (
                path == "/v1/session" and method == "POST"):
            return None
        given = bearer(headers.get("authorization", ""))
        if given is not None and matches(given, self.token):
            return None
        cookie = Request(scope).cookies.get(COOKIE, "")
        if given is None and cookie and self.sessions and self.sessions.valid(cookie):
            if method in SAFE_METHODS or same_origin(
                    headers.get("origin"), headers.get("referer"), headers.get("host", "")):
                return None
            return JSONResponse({"detail": "cross-site request refused (its Origin is not "
                                 "this service)"}, status_code=403)
        return JSONResponse({"detail": "missing or wrong API token"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})


def _too_large(limit: int) -> str:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"request body larger than the limit of {size}"


def create_app(api: JobsApi, health: ServiceHealth, *, uploads_dir: Path,
               token: str | None = None, max_upload_bytes: int = 2 << 30) -> FastAPI:
    """The HTTP application: REST API under ``/v1``, health, OpenAPI at ``/docs``, web page."""
    app = FastAPI(title="snapclip", version="1",
                  summary="Find the best moments of a long video and cut them into clips.",
                  description="REST mirror of the gRPC service `snapclip.v1.Highlights`: "
                              "messages in the proto3 JSON mapping.")
    sessions = Sessions(token) if token is not None else None
    app.add_middleware(Gate, token=token, sessions=sessions, upload_limit=max_upload_bytes)

    @app.middleware("http")
    async def log_requests(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        log.info("%s %s %d", request.method, request.url.path, response.status_code,
                 extra={"ms": round((time.perf_counter() - start) * 1000, 1)})
        return response

    @app.exception_handler(UnknownJobError)
    async def unknown_job(_request: Request, exc: UnknownJobError) -> JSONResponse:
        return JSONResponse({"detail": f"no job {exc.args[0]!r}"}, status_code=404)

    @app.exception_handler(JobStateError)
    async def wrong_state(_request: Request, exc: JobStateError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(InputError)
    async def bad_input(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/healthz", tags=["health"],
             summary="The service process is up (with its workers: alive/started, and how "
                     "many were started again after they died).")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "workers": health.state.workers}

    @app.get("/readyz", tags=["health"], response_model=HealthBody,
             responses={503: {"model": HealthBody, "description": _ERRORS[503]}},
             summary="The job store answers and the workers are alive (Triton's state is "
                     "shown, not required: jobs wait for it).")
    async def readyz() -> JSONResponse:
        state = health.state
        return JSONResponse(state.to_dict(), status_code=200 if state.ready else 503)

    @app.post("/v1/session", tags=["auth"], status_code=204, responses=errors(401, 413, 422),
              summary="Check a token and keep it in an HttpOnly cookie (the web page).")
    async def login(body: SessionRequest, request: Request) -> Response:
        if token is not None and not matches(body.token, token):
            raise HTTPException(401, "wrong API token")
        response = Response(status_code=204)
        if sessions is not None:
            # Secure behind TLS: the scheme is the client's as the trusted proxies forward it
            # (``--trusted-proxies``); from anyone else X-Forwarded-Proto is ignored.
            response.set_cookie(COOKIE, sessions.issue(), max_age=int(sessions.lifetime_s),
                                httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response

    @app.delete("/v1/session", tags=["auth"], status_code=204, responses=errors(401, 403),
                summary="Sign out: the browser drops the session cookie.")
    async def logout(request: Request) -> Response:
        # Sessions are signed, not stored (every replica checks them without shared state), so
        # this ends the session in this browser; a copy of the cookie lives until its expiry.
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response

    @app.get("/v1/session", tags=["auth"], status_code=204, responses=errors(401),
             summary="204 when the request is authorized (the web page asks before it shows "
                     "the token form).")
    async def session() -> Response:
        return Response(status_code=204)

    @app.post("/v1/jobs", tags=["jobs"], **answers(rest.Job),
              responses=errors(400, 401, 403, 413, 422),
              status_code=202, summary="Queue a job for a URL (or a path the service reads).")
    async def submit(body: rest.SubmitRequest) -> dict[str, Any]:
        request = json_format.ParseDict(body.model_dump(exclude_none=True), pb.SubmitRequest())
        job, _created = await api.submit(request)
        return rest.to_json(job)

    @app.post(UPLOAD_PATH, tags=["jobs"], **answers(rest.Job),
              responses=errors(400, 401, 403, 413, 422),
              status_code=202, summary="Upload a video or audio file and queue a job for it.")
    async def upload(file: UploadFile,
                     options: Annotated[str, Form(description="RunOptions as JSON")] = "{}",
                     request_id: Annotated[str, Form()] = "") -> dict[str, Any]:
        try:
            run = json_format.Parse(options or "{}", pb.RunOptions())
        except json_format.ParseError as exc:
            raise HTTPException(400, f"options: {exc}") from None
        folder = uploads_dir / uuid.uuid4().hex
        path = folder / safe_filename(file.filename)
        created, size = False, 0
        try:
            size = await asyncio.to_thread(_save, file, path)
            job, created = await api.submit(pb.SubmitRequest(
                source=str(path), options=run, request_id=request_id), uploaded=True)
        finally:
            if not created:  # refused, or the request id named an earlier job
                shutil.rmtree(folder, ignore_errors=True)
        log.info("upload %s: %d bytes%s", path.name, size, "" if created else " (earlier job)",
                 extra={"job": job.id})
        return rest.to_json(job)

    @app.get("/v1/jobs", tags=["jobs"], **answers(rest.ListResponse),
             responses=errors(400, 401, 422), summary="Jobs, newest first.")
    async def list_jobs(
            page_size: Annotated[int, Query(
                ge=0, le=MAX_PAGE_SIZE,
                description=f"0: the default ({DEFAULT_PAGE_SIZE})")] = DEFAULT_PAGE_SIZE,
            page_token: Annotated[str, Query(max_length=MAX_PAGE_TOKEN_CHARS)] = "",
    ) -> dict[str, Any]:
        return rest.to_json(await api.list(page_size, page_token))

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], **answers(rest.Job),
             responses=errors(401, 404))
    async def get_job(job_id: str) -> dict[str, Any]:
        return rest.to_json(await api.get(job_id))

    @app.post("/v1/jobs/{job_id}/cancel", tags=["jobs"], **answers(rest.Job),
              responses=errors(401, 403, 404, 413), summary="Stop a queued or running job.")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        return rest.to_json(await api.cancel(job_id))

    @app.post("/v1/jobs/{job_id}/clips/{rank}/render", tags=["jobs"], **answers(rest.Job),
              responses=errors(400, 401, 403, 404, 409, 413, 422),
              summary="Render one clip of a succeeded job again as edited (span, caption "
                      "words as SRT, aspects), with no model; answers the updated job.")
    async def render_clip(job_id: str, rank: Annotated[int, PathParam(ge=1, le=MAX_CLIPS)],
                          body: rest.ClipEdit) -> dict[str, Any]:
        edit = json_format.ParseDict(body.model_dump(exclude_none=True), pb.ClipEdit())
        return rest.to_json(await api.render_clip(
            pb.RenderClipRequest(job_id=job_id, rank=rank, edit=edit)))

    @app.get("/v1/jobs/{job_id}/events", tags=["jobs"],
             response_class=StreamingResponse,
             summary="Progress as Server-Sent Events: `progress` events (JobEvent), a "
                     "`clip_ready` event per clip as soon as it is rendered (its files can be "
                     "fetched at once), then one `result` event whose JobEvent carries the "
                     "finished job.",
             responses={200: {"content": {"text/event-stream": {}}},
                        **errors(401, 404, 422)})
    async def job_events(job_id: str, after: int = 0,
                         last_event_id: Annotated[str | None, Header()] = None
                         ) -> StreamingResponse:
        await api.job(job_id)
        start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after
        return StreamingResponse(_sse(api.watch(job_id, start)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    @app.get("/v1/jobs/{job_id}/files/{path:path}", tags=["jobs"],
             responses=errors(401, 403, 404),
             response_class=FileResponse,
             summary="A file of a succeeded job: clips, captions, manifest.json, timeline.png, "
                     "editor timelines (clips.otio, .edl, .fcpxml, .xml), transcript.json; "
                     "while it runs, the files of the clips a `clip_ready` event named.")
    async def job_files(job_id: str, path: str) -> FileResponse:
        job = await api.job(job_id)
        early = await api.ready_file(job, path)  # a clip rendered while the job still runs
        return FileResponse(early or job_file(job.out_dir, path))

    web = resources.files("orchestrator.service").joinpath("web")
    app.mount("/", StaticFiles(directory=str(web), html=True), name="web")
    return app


def _save(file: UploadFile, path: Path) -> int:
    """Copy the upload to ``path``; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    file.file.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(file.file, out, length=1 << 20)
        return out.tell()


async def _sse(events: AsyncIterator[Any | None]) -> AsyncIterator[str]:
    async for event in events:
        if event is None:
            yield ": keep-alive\n\n"
            continue
        kind = ("result" if event.HasField("result") else
                "clip_ready" if event.HasField("clip") else "progress")
        yield f"id: {event.id}\nevent: {kind}\ndata: {json.dumps(rest.to_json(event))}\n\n"
