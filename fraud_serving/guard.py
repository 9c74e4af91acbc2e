"""ASGI middleware in front of the API: bearer key, media type, body size, JSON syntax.

All run before BentoML parses the body, so an oversized request is refused (413) without
being read past the cap, and an unauthenticated feedback call gets 401 whatever its body.
The key is compared with `hmac.compare_digest` (constant time). BentoML 1.4.40 answers 500
to invalid JSON on endpoints whose body is not a pydantic model (`/feedback` takes a Label
or a list), so those paths are syntax-checked here and get 400; and 500 to a multipart body,
so POST bodies must be `application/json` (415 otherwise; no Content-Type is taken as JSON).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def _reply(send: Send, status: int, error: str, headers: Iterable = ()) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _authorized(scope: Scope, api_key: str | None) -> bool:
    if not api_key:
        return False
    header = dict(scope.get("headers") or ()).get(b"authorization", b"")
    scheme, _, token = header.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), api_key.encode())


class RequestGuard:
    """401 on `protected` paths without the key, 415 for a body that is not JSON, 413 over
    `max_body_bytes`, 400 for invalid JSON on `json_checked` paths."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        max_body_bytes: int,
        api_key: str | None,
        protected: tuple[str, ...] = (),
        json_checked: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_key = api_key
        self.protected = protected
        self.json_checked = json_checked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.protected and not _authorized(scope, self.api_key):
            await _reply(
                send, 401, "missing or wrong bearer key", [(b"www-authenticate", b"Bearer")]
            )
            return
        headers = dict(scope.get("headers") or ())
        media_type = headers.get(b"content-type", b"application/json").split(b";")[0].strip()
        if media_type.lower() != b"application/json":
            await _reply(send, 415, "Content-Type must be application/json")
            return
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, f"body larger than {self.max_body_bytes} bytes")
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await _reply(send, 413, f"body larger than {self.max_body_bytes} bytes")
                return
            more = message.get("more_body", False)
        if scope["path"] in self.json_checked:
            try:
                json.loads(body)
            except ValueError as error:
                await _reply(send, 400, f"body is not valid JSON: {error}")
                return
            except RecursionError:
                await _reply(send, 400, "body is not valid JSON: nested too deeply")
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
