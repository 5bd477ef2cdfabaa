"""HTTP for C2SP tlog-witness: the witness's ASGI app and the log's client of witnesses (httpx)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from agentgov.errors import Unavailable
from agentgov.ledger.witness import Witness, WitnessReply, format_add_checkpoint

__all__ = ["MAX_REQUEST_BYTES", "WitnessAnswer", "WitnessClient", "witness_app"]

MAX_REQUEST_BYTES = 64 * 1024
"""An add-checkpoint request is a size line, at most 63 proof lines and a checkpoint with at most 100
signatures: under 16 KiB. Anything four times larger is refused before it is read in full."""


def witness_app(witness: Witness, *, max_request_bytes: int = MAX_REQUEST_BYTES) -> Starlette:
    """``POST /add-checkpoint`` (C2SP tlog-witness) and ``GET /`` with the witness's name and logs."""

    async def add_checkpoint(request: Request) -> Response:
        chunks: list[bytes] = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_request_bytes:
                return PlainTextResponse(f"request over {max_request_bytes} bytes\n", status_code=413)
            chunks.append(chunk)
        reply: WitnessReply = witness.add_checkpoint(b"".join(chunks))
        # The content type is sent as is: C2SP tlog-witness requires exactly text/x.tlog.size on 409.
        return Response(reply.body, status_code=reply.status, headers={"Content-Type": reply.content_type})

    async def about(_: Request) -> Response:
        lines = [f"witness {witness.cosigner.name}", *(f"log {origin}" for origin in witness.origins)]
        return PlainTextResponse("\n".join(lines) + "\n")

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/", about, methods=["GET"]),
        ]
    )


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    status: int
    content_type: str
    body: str


class WitnessClient:
    """Posts add-checkpoint requests; transport failures become Unavailable (STYLE 3)."""

    def __init__(self, http: httpx.Client | None = None, *, timeout_s: float = 10.0) -> None:
        # A witness answers from memory and one fsync: ten seconds is far beyond a healthy reply.
        self._http = http or httpx.Client(timeout=timeout_s)

    def add_checkpoint(self, url: str, old_size: int, proof: Sequence[bytes], note: str) -> WitnessAnswer:
        body = format_add_checkpoint(old_size, proof, note).encode()
        try:
            response = self._http.post(
                url.rstrip("/") + "/add-checkpoint", content=body, headers={"Content-Type": "text/plain"}
            )
        except httpx.HTTPError as exc:
            raise Unavailable(f"witness at {url} did not answer: {exc.__class__.__name__}") from exc
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return WitnessAnswer(response.status_code, content_type, response.text)

    def close(self) -> None:
        self._http.close()
