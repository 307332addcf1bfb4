"""Every error the API answers is JSON `{"error": code, "message": what to fix, "details": [...]}`
(`schemas.ErrorResponse`), never a bare stack trace, and never echoes a client's input back
unescaped (an unpaired surrogate in it could not even be encoded)."""

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ksent.errors import KsentError
from ksent.serve.service import Overloaded, Stopped, TimedOut
from ksent.serve.settings import MAX_TEXT_CHARS, MAX_TEXTS

log = logging.getLogger("ksent.serve")

EXAMPLES = {"/v1/predict": '{"texts": ["재밌어요", "지루해요"]}', "/v1/explain": '{"text": "재밌어요"}'}
MAX_DETAILS = 20  # one per bad field; a request with 256 bad texts gets the first 20


class SafeJSONResponse(JSONResponse):
    """UTF-8 JSON; should any string still hold a lone surrogate, it is escaped (\\ud800), not a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


class ApiError(Exception):
    """An error with its HTTP status, code and message (what to fix)."""

    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers


def error_response(status: int, error: str, message: str, details: list | None = None, headers=None) -> JSONResponse:
    body = {"error": error, "message": message, "details": details or []}
    return SafeJSONResponse(body, status_code=status, headers=headers)


def _where(loc: tuple) -> str:
    """('body', 'texts', 3) -> 'texts[3]'; ('body',) -> 'the body'."""
    parts = [p for p in loc if p != "body"]
    if not parts or isinstance(parts[0], int):
        return "the body"
    out = _short(parts[0])
    for p in parts[1:]:
        out += f"[{p}]" if isinstance(p, int) else f".{_short(p)}"
    return out


def _short(name: Any, limit: int = 40) -> str:
    s = str(name)
    return s if len(s) <= limit else s[:limit] + "…"


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def describe(err: dict, path: str, content_type: str | None) -> tuple[str, str]:
    """One pydantic/FastAPI validation error -> (code, message that says what to fix)."""
    kind, loc, ctx = err.get("type", ""), tuple(err.get("loc", ())), err.get("ctx") or {}
    where, example, value = _where(loc), EXAMPLES.get(path, "a JSON object"), err.get("input")
    if kind == "json_invalid":
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return "invalid_json", f"the body is not valid JSON ({ctx.get('error', 'decode error')}{at}); send {example}"
    if kind == "missing":
        return "missing_field", f"{where} is missing; send {example}"
    if kind == "extra_forbidden":
        return "unknown_field", f"unknown field {where!r}; send only the fields of {example}"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        if content_type is None or "json" not in content_type:
            return "not_json", f"send the body as JSON with the header Content-Type: application/json, e.g. {example}"
        return "not_an_object", f"the body must be a JSON object, got {_json_type(value)}; send {example}"
    if kind == "too_short" and loc[-1:] == ("texts",):
        return "no_texts", f"texts is empty; send at least one review, e.g. {example}"
    if kind == "too_long" and loc[-1:] == ("texts",):
        n = ctx.get("actual_length", "too many")
        return (
            "too_many_texts",
            f"texts has {n} reviews, more than {MAX_TEXTS} per request; send them in several requests",
        )
    if kind == "string_too_long":
        n = f"{len(value):,}" if isinstance(value, str) else "too many"
        return "text_too_long", (
            f"{where} has {n} characters, more than {MAX_TEXT_CHARS:,}; shorten it or split it into several reviews"
        )
    if kind == "string_type":
        return "not_a_string", f"{where} must be a string (one review), got {_json_type(value)}"
    if kind == "list_type":
        return "not_a_list", f"{where} must be a list of strings, got {_json_type(value)}; send {example}"
    if kind == "string_surrogate":  # ours (schemas.Review)
        return "invalid_unicode", f"{where} {err.get('msg', 'is not valid Unicode')}"
    if kind == "string_unicode":  # pydantic's, for the same surrogates (in a value or a key)
        return "invalid_unicode", (
            f"{where} holds text that is not valid Unicode (an unpaired UTF-16 surrogate such as \\ud800); "
            "send valid Unicode text"
        )
    return "invalid_request", f"{where}: {err.get('msg', 'invalid value')}; send {example}"


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    content_type = request.headers.get("content-type")
    errors = list(exc.errors())
    described = [describe(e, request.url.path, content_type) for e in errors]
    code, message = described[0] if described else ("invalid_request", "invalid request")
    if len(described) > 1:
        message += f" (and {len(described) - 1} more problem{'s' if len(described) > 2 else ''}: see details)"
    details = [
        {"loc": [_short(p) if isinstance(p, str) else p for p in e.get("loc", ())], "message": m, "type": c}
        for e, (c, m) in zip(errors[:MAX_DETAILS], described[:MAX_DETAILS], strict=True)
    ]
    status = 400 if code == "invalid_json" else 422
    return error_response(status, code, message, details)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = getattr(exc, "headers", None)
    if exc.status_code == 404:
        return error_response(
            404, "not_found", f"no such endpoint: {_short(request.url.path)}; see /docs", None, headers
        )
    if exc.status_code == 405:
        allowed = (headers or {}).get("Allow", "")
        msg = f"{request.method} is not allowed on {request.url.path}; use {allowed or 'another method'}"
        return error_response(405, "method_not_allowed", msg, None, headers)
    if exc.status_code == 400:  # FastAPI could not read the body at all (e.g. nested too deeply)
        example = EXAMPLES.get(request.url.path, "a JSON object")
        return error_response(400, "invalid_json", f"the body could not be read as JSON; send {example}")
    return error_response(exc.status_code, "http_error", str(exc.detail), None, headers)


async def _api(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.error, exc.message, headers=exc.headers)


async def _overloaded(request: Request, exc: Overloaded) -> JSONResponse:
    msg = (
        f"the server is full ({exc.pending} requests are being answered or waiting); retry after "
        f"{exc.retry_after} s, or send several reviews per request"
    )
    return error_response(503, "overloaded", msg, headers={"Retry-After": str(exc.retry_after)})


async def _timed_out(request: Request, exc: TimedOut) -> JSONResponse:
    msg = f"the model did not answer within {exc.seconds:g} s; retry later, or send fewer reviews per request"
    return error_response(504, "timeout", msg)


async def _stopped(request: Request, exc: Stopped) -> JSONResponse:
    log.error("a request came while the model worker is not running")
    return error_response(503, "model_stopped", "the model worker has stopped; the server needs a restart")


async def _ksent(request: Request, exc: KsentError) -> JSONResponse:
    # The model's own refusals, e.g. a review none of whose tokens reach the model cannot be explained.
    return error_response(422, "unprocessable_text", f"{exc}; send a review with words the model knows")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the server failed on this request; its log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(KsentError, _ksent)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(TimedOut, _timed_out)
    app.add_exception_handler(Stopped, _stopped)
    app.add_exception_handler(Exception, _unexpected)
