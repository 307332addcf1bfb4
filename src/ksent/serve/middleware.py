"""Reads each request body before the app does, so that a body too large or not UTF-8 is refused
with a JSON error that says so (413, 400) instead of being parsed, or half-parsed, by the app."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ksent.serve.errors import error_response

BODYLESS = ("GET", "HEAD", "OPTIONS", "DELETE", "TRACE")


class BodyGuard:
    """Pure ASGI middleware: at most `max_bytes` of body (checked on the Content-Length header and
    again on the bytes that actually arrive, chunked bodies included); a JSON body must be UTF-8
    (RFC 8259 section 8.1). The body, once read, is replayed to the app unchanged."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send, int(declared))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nobody to answer
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._too_large(scope, receive, send, None)
                return
            more = message.get("more_body", False)
        content_type = headers.get("content-type", "")
        if body and "json" in content_type:
            try:
                bytes(body).decode("utf-8")
            except UnicodeDecodeError as e:
                msg = f"the body is not UTF-8 (byte {e.start} is {body[e.start]:#04x}); send JSON encoded as UTF-8"
                await error_response(400, "not_utf8", msg)(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, size: int | None) -> None:
        got = f"{size:,} bytes" if size is not None else "more than that"
        msg = (
            f"the body is {got}; at most {self.max_bytes:,} bytes per request: "
            "send fewer or shorter reviews per request"
        )
        # Connection: close, since the rest of the unread body is still on its way.
        await error_response(413, "body_too_large", msg, headers={"Connection": "close"})(scope, receive, send)
