"""Bearer-token authentication for the gRPC API (and the token checks the HTTP API shares).

When a token is configured, every ``snapclip.v1.Highlights`` call must send the metadata
``authorization: Bearer <token>``; others end ``UNAUTHENTICATED``. Health and reflection stay
open, so Kubernetes probes and ``grpcurl list`` need no secret. Tokens are compared in constant
time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

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
