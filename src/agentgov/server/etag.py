"""Strong ETags on every successful GET, and 304 for a matching If-None-Match (RFC 9110 §8.8.3)."""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ETagMiddleware"]


def _matches(if_none_match: str, etag: str) -> bool:
    candidates = [c.strip() for c in if_none_match.split(",")]
    return "*" in candidates or etag in candidates or f"W/{etag}" in candidates


class ETagMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        streaming = False

        async def buffer(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                # Server-sent events are open-ended: pass them through as they come, with no ETag.
                streaming = (
                    Headers(raw=message["headers"]).get("content-type", "").startswith("text/event-stream")
                )
                if streaming:
                    await send(message)
                    return
                start = message
                return
            if streaming:
                await send(message)
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await self._finish(scope, send, start, b"".join(chunks))
                return
            await send(message)

        await self.app(scope, receive, buffer)

    @staticmethod
    async def _finish(scope: Scope, send: Send, start: Message | None, body: bytes) -> None:
        if start is None:  # pragma: no cover - ASGI guarantees a start before the body
            return
        headers = MutableHeaders(raw=list(start["headers"]))
        if start["status"] == 200 and "etag" not in headers:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers["ETag"] = etag
            if _matches(Headers(scope=scope).get("if-none-match", ""), etag):
                del headers["content-length"]
                del headers["content-type"]
                await send({"type": "http.response.start", "status": 304, "headers": headers.raw})
                await send({"type": "http.response.body", "body": b""})
                return
        await send({**start, "headers": headers.raw})
        await send({"type": "http.response.body", "body": body})
