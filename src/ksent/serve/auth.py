"""The API key: with one set (`--api-key` / KSENT_API_KEY), every /v1 request must send it as
`Authorization: Bearer KEY`, or gets 401 before anything else of the request is read.

A middleware rather than a route dependency: FastAPI reads and parses a route's body before its
dependencies run, so a stranger could still make the server read 8 MB and learn how it validates.
The page (/), its assets, /docs, /openapi.json and /healthz hold no data and stay open: the page asks
for the key when the API answers 401. The key is compared in constant time and never logged.
"""

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ksent.serve.errors import error_response

PROTECTED = "/v1/"


class KeyGuard:
    """Pure ASGI middleware: 401 for a /v1 request without `Authorization: Bearer <key>`."""

    def __init__(self, app: ASGIApp, key: str):
        self.app = app
        self.key = key.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _route_path(scope).startswith(PROTECTED) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            error, msg = "missing_api_key", "this server needs an API key: send the header Authorization: Bearer KEY"
        elif not hmac.compare_digest(token.strip().encode("utf-8", "surrogateescape"), self.key):
            error, msg = "wrong_api_key", "the API key is not this server's; send the key it was started with"
        else:
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Bearer realm="ksent"'}
        if scope["method"] not in ("GET", "HEAD"):
            headers["Connection"] = "close"  # its body is never read: do not leave it in the stream
        await error_response(401, error, msg, headers=headers)(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path the app routes on: behind a proxy (uvicorn --root-path /ksent) the server's path is
    /ksent/v1/predict and Starlette strips the root before matching; the key check must too."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
