"""Bearer-token authentication for the gRPC API (and the token checks the HTTP API shares).

When a token is configured, every ``snapclip.v1.Highlights`` call must send the metadata
``authorization: Bearer <token>``; others end ``UNAUTHENTICATED``. Health and reflection stay
open, so Kubernetes probes and ``grpcurl list`` need no secret. Tokens are compared in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import grpc


def bearer(header: str) -> str | None:
    """The token of an ``authorization: Bearer <token>`` value; None for any other scheme."""
    scheme, _, given = header.partition(" ")
    return given.strip() if scheme.lower() == "bearer" else None


def matches(given: str, token: str) -> bool:
    """``given`` is the token, compared in constant time."""
    return hmac.compare_digest(given.encode(), token.encode())


def authorized(metadata: tuple[tuple[str, str | bytes], ...] | None, token: str) -> bool:
    """True when ``metadata`` carries ``authorization: Bearer <token>``."""
    for key, value in metadata or ():
        if key.lower() == "authorization":
            given = bearer(value.decode() if isinstance(value, bytes) else value)
            if given is not None and matches(given, token):
                return True
    return False


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str, protected_prefix: str) -> None:
        self._token = token
        self._prefix = protected_prefix

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails],
                                     Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if (handler is None or not handler_call_details.method.startswith(self._prefix)
                or authorized(handler_call_details.invocation_metadata, self._token)):
            return handler
        return _refusing(handler)


async def _deny(_request: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong API token")


def _refusing(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same kind as ``handler`` that refuses the call."""
    codec = {"request_deserializer": handler.request_deserializer,
             "response_serializer": handler.response_serializer}
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_deny, **codec)
    if handler.unary_stream:
        async def deny_stream(request: Any, context: grpc.aio.ServicerContext):
            await _deny(request, context)
            yield  # pragma: no cover -- makes this an async generator

        return grpc.unary_stream_rpc_method_handler(deny_stream, **codec)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(_deny, **codec)
    return grpc.stream_stream_rpc_method_handler(_deny, **codec)


class Sessions:
    """Browser sessions of the web page: an opaque, signed cookie value with an expiry.

    The cookie never holds the API token (a stolen cookie dies with its expiry, and cannot
    be replayed as a bearer token). It is ``<expiry>.<nonce>.<signature>``, the signature an
    HMAC-SHA256 of the first two under a key derived from the token: every replica that
    knows the token checks it without shared state, and changing the token ends every
    session.
    """

    def __init__(self, token: str, *, lifetime_s: float = 12 * 3600) -> None:
        self._key = hashlib.sha256(b"snapclip-session\0" + token.encode()).digest()
        self.lifetime_s = lifetime_s

    def issue(self, now: float | None = None) -> str:
        expiry = int((now if now is not None else time.time()) + self.lifetime_s)
        body = f"{expiry}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    def valid(self, value: str, now: float | None = None) -> bool:
        body, _, signature = value.rpartition(".")
        expiry = body.partition(".")[0]
        if not body or not expiry.isdigit():
            return False
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return False
        return int(expiry) > (now if now is not None else time.time())

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()


def same_origin(origin: str | None, referer: str | None, host: str) -> bool:
    """A state-changing browser request came from this service's own page: the host of its
    ``Origin`` (or, lacking one, its ``Referer``) is the ``Host`` it was sent to. Neither:
    refused. The scheme is not compared: behind a TLS-terminating proxy the service sees http
    while the page's origin is https."""
    source = origin or referer
    if not source or not host:
        return False
    return (urlsplit(source).netloc or "").lower() == host.lower()
