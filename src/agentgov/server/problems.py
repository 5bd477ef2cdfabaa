"""RFC 9457 problem+json for every error, and the request body limit."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentgov.errors import AgentGovError, InvalidInput, MalformedRequest, PayloadTooLarge

__all__ = ["BodyLimitMiddleware", "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("agentgov.server")


def problem_response(error: AgentGovError, instance: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse(
        error.to_problem(instance), status_code=error.status, media_type=PROBLEM_JSON, headers=headers
    )


def _validation_problem(exc: RequestValidationError) -> AgentGovError:
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "(body)",
            "message": e.get("msg", ""),
        }
        for e in exc.errors()
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return MalformedRequest("body is not valid JSON", errors=errors)
    first = errors[0] if errors else {"field": "(body)", "message": "invalid"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidInput(f"{first['field']}: {first['message']}{more}", field=first["field"], errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_agentgov(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, AgentGovError):  # pragma: no cover - registered for AgentGovError only
            raise exc
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover
            raise exc
        return problem_response(_validation_problem(exc), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
            raise exc
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "code": {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error"),
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {
            "type": "about:blank",
            "title": "Internal error",
            "status": 500,
            "code": "internal",
            "detail": "an unexpected error occurred; nothing was changed by this request",
            "instance": request.url.path,
        }
        return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON)

    app.add_exception_handler(AgentGovError, on_agentgov)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes``: by Content-Length up front, and by counting a streamed body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"request body is over the limit of {self.max_bytes} bytes")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    await problem_response(MalformedRequest("bad Content-Length"), scope["path"])(
                        scope, receive, send
                    )
                    return
                if declared > self.max_bytes:
                    await problem_response(too_large, scope["path"])(scope, receive, send)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large
            return message

        await self.app(scope, limited, send)
