"""The FastAPI app: `create_app(settings)` builds it; the model loads once, in its `lifespan`.

uvicorn --factory ksent.serve.app:app_from_env     # settings from KSENT_SERVE_* (what `ksent serve` runs)
"""

from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from fastapi.security import HTTPBearer
from fastapi_offline import FastAPIOffline

from ksent._version import __version__
from ksent.serve import errors
from ksent.serve.auth import KeyGuard
from ksent.serve.middleware import BodyGuard
from ksent.serve.routes import DOCS_ASSETS, api, health, pages
from ksent.serve.service import ModelService
from ksent.serve.settings import Settings

DESCRIPTION = """Korean review sentiment with an LSTM you can open up.

`POST /v1/predict` classifies up to 256 reviews per request; `POST /v1/explain` opens the model on one
review (per-token evidence, gates, cell state). Every error is JSON: `error` (a code), `message` (what
to fix) and `details`. The web page is at `/`.

When the server was started with an API key, every `/v1` request sends it as
`Authorization: Bearer KEY` (401 without it). A full server answers 503 with `Retry-After`; a request
the model has not answered within the time limit, 504."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Loading takes seconds (weights, the analyser, a warm-up call): off the event loop.
        service = await anyio.to_thread.run_sync(ModelService.load, settings)
        app.state.service = service
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(service.close)

    # FastAPIOffline: Swagger UI's and ReDoc's files come from the installed fastapi-offline package
    # (mounted at routes.DOCS_ASSETS), not from a CDN, so /docs and /redoc work without internet.
    # /docs is ksent's own route (routes.docs: the same page, with a Hangul font).
    app = FastAPIOffline(
        docs_url=None,
        static_url=DOCS_ASSETS,
        title="ksent",
        version=__version__,
        summary="Korean review sentiment (NSMC LSTM): predictions and explanations.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    if settings.api_key is not None:
        app.add_middleware(KeyGuard, key=settings.api_key)  # added last: runs first, before any body is read
    errors.install(app)
    # With a key, the spec declares bearer auth (so /docs has an Authorize button); KeyGuard enforces it.
    bearer = [Depends(HTTPBearer(auto_error=False, description="The server's API key"))] if settings.api_key else []
    app.include_router(api, dependencies=bearer)
    app.include_router(health)
    app.include_router(pages)
    return app


def app_from_env() -> FastAPI:
    """The app with settings from the environment: each uvicorn worker process builds its own."""
    return create_app(Settings.from_env())
