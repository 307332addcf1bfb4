"""The endpoints: the JSON API under /v1, /healthz, and the web page with its assets."""

import math
from html import escape
from importlib.resources import files
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ksent.errors import KsentError
from ksent.serve.errors import ApiError, SafeJSONResponse
from ksent.serve.fonts import WEB_FONTS, web_font_bytes
from ksent.serve.schemas import (
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    Health,
    Limits,
    Metrics,
    ModelInfo,
    PredictRequest,
    PredictResponse,
)
from ksent.serve.service import ModelService
from ksent.serve.settings import Settings


# The dependencies are coroutines though they never await: FastAPI runs a plain function in its
# thread pool, two thread hops per request that cost more than the model on a small machine.
async def get_service(request: Request) -> ModelService:
    return request.app.state.service


async def require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        shown = f"Content-Type {media!r}" if media else "no Content-Type"
        raise ApiError(415, "not_json", f"got {shown}; send the body as JSON with Content-Type: application/json")


Service = Annotated[ModelService, Depends(get_service)]


def _errors(*statuses: int) -> dict:
    return {status: {"model": ErrorResponse} for status in statuses}


api = APIRouter(prefix="/v1", tags=["sentiment"])


@api.post(
    "/predict",
    dependencies=[Depends(require_json)],
    responses=_errors(400, 401, 413, 415, 422, 503, 504),
    summary="Classify reviews",
)
async def predict(body: PredictRequest, service: Service) -> PredictResponse:
    """Label (0 negative / 1 positive), its confidence, P(positive) and the tokens read, per review:
    the records of `ksent predict --json`."""
    records = await service.predict(body.texts)
    return PredictResponse.model_validate({"predictions": [r.to_dict() for r in records]})


@api.post(
    "/explain",
    dependencies=[Depends(require_json)],
    response_model=ExplainResponse,
    responses=_errors(400, 401, 413, 415, 422, 503, 504),
    summary="Explain one review",
)
async def explain(body: ExplainRequest, service: Service) -> JSONResponse:
    """The LSTM opened on one review (`ksent explain --json`): per token its evidence, the gates and
    cell state; the full trace too. 422 when no token of the review reaches the model."""
    if not body.text.strip():
        raise ApiError(422, "empty_text", "text is empty; send the text of one review")
    try:
        explanation = await service.explain(body.text)
    except KsentError as e:  # e.g. none of its tokens is in the vocabulary: the model would see padding only
        raise ApiError(422, "nothing_to_explain", f"{e}; send a review with Korean words the model knows") from None
    # Returned as is: tens of thousands of trace numbers need no second validation pass.
    return SafeJSONResponse(explanation.to_dict())


@api.get("/model", summary="The model being served", responses=_errors(401))
async def model(request: Request, service: Service) -> ModelInfo:
    """Its config, validation (and test) metrics, ksent version, tokenizer provenance, vocabulary size,
    and the API's limits."""
    return model_info(service, request.app.state.settings)


def model_info(service: ModelService, settings: Settings) -> ModelInfo:
    from ksent._version import __version__

    clf = service.clf
    metrics = getattr(clf, "metrics_", None) or {}
    return ModelInfo(
        name=service.name,
        ksent_version=__version__,
        config=clf.config_.to_dict(),
        metrics={split: _metrics(metrics.get(split)) for split in ("validation", "test")},
        tokenizer=getattr(clf, "tokenizer_", None),
        vocab_size=clf.features_.tokens.vocab_size,
        limits=Limits(
            max_body_bytes=settings.max_body_bytes, max_queue=settings.max_queue, timeout_s=settings.timeout_s
        ),
    )


def _metrics(report: dict | None) -> Metrics | None:
    if not report:
        return None

    def num(key: str) -> float | None:  # NaN (e.g. ROC-AUC of a one-class split) is not JSON
        v = report.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    return Metrics(
        n=int(report.get("n", 0)), **{k: num(k) for k in ("accuracy", "precision", "recall", "f1", "roc_auc")}
    )


health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Liveness", responses=_errors(503))
async def healthz(service: Service) -> Health:
    """`{"status": "ok"}` once the model is loaded (the server answers nothing before); 503 if its
    worker has stopped (restart the server). Needs no API key."""
    if not service.alive:
        raise ApiError(503, "model_stopped", "the model worker has stopped; the server needs a restart")
    return Health()


# --- the web page ------------------------------------------------------------------------------

pages = APIRouter(include_in_schema=False)

# Served from memory, by fixed name: no request names a file to read.
ASSETS = {
    "app.css": "text/css; charset=utf-8",
    "fonts.css": "text/css; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# The page loads nothing from elsewhere (it works offline); the policy makes the browser hold it to that.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'self'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _read_static() -> dict[str, bytes]:
    static = files("ksent.serve") / "static"
    return {name: (static / name).read_bytes() for name in ("index.html", *ASSETS)}


_STATIC: dict[str, bytes] = {}


def static_bytes(name: str) -> bytes:
    if not _STATIC:
        _STATIC.update(_read_static())
    return _STATIC[name]


@pages.get("/")
async def index(request: Request) -> Response:
    # The page's links and API calls are relative to its <base>: the server's root, or the prefix a
    # proxy serves it under (uvicorn --root-path /ksent), with or without a trailing slash.
    root = escape(request.scope.get("root_path", "").rstrip("/"), quote=True)
    page = static_bytes("index.html").replace(b'<base href="/">', f'<base href="{root}/">'.encode(), 1)
    return Response(page, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


# Swagger UI's files come from the installed fastapi-offline package (mounted by `create_app`).
DOCS_ASSETS = "/static-offline-docs"


@pages.get("/docs")
async def docs(request: Request) -> Response:
    """Swagger UI, loaded from this server only, with the page's Hangul font (fonts.css, docs.css)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    root = request.scope.get("root_path", "")  # behind a proxy: uvicorn --root-path /ksent
    html = get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title="ksent API",
        swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}/static/favicon.svg",
    ).body
    fonts = (
        f'<link rel="stylesheet" href="{root}/static/fonts.css"><link rel="stylesheet" href="{root}/static/docs.css">'
    )
    return Response(html.replace(b"</head>", fonts.encode() + b"</head>", 1), media_type="text/html; charset=utf-8")


@pages.get("/static/{name}")
async def asset(name: str) -> Response:
    if name in WEB_FONTS:  # Hangul where the browser's machine has no Korean font (made once, then from memory)
        try:
            font = await anyio.to_thread.run_sync(web_font_bytes, name)
        except KsentError as e:
            raise ApiError(404, "not_found", f"/static/{name}: {e}") from None
        return Response(font, media_type="font/ttf", headers={**PAGE_HEADERS, "Cache-Control": "max-age=86400"})
    if name not in ASSETS:
        raise ApiError(404, "not_found", f"no such file: /static/{name[:40]}")
    return Response(static_bytes(name), media_type=ASSETS[name], headers=PAGE_HEADERS)
