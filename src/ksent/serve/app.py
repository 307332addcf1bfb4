"""The FastAPI app: `create_app(settings)` builds it; the model loads once, in its `lifespan`.

uvicorn --factory ksent.serve.app:app_from_env     # settings from KSENT_SERVE_* (what `ksent serve` runs)
"""

from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from ksent._version import __version__
from ksent.serve import errors
from ksent.serve.middleware import BodyGuard
from ksent.serve.routes import api, health, pages
from ksent.serve.service import ModelService
from ksent.serve.settings import Settings

DESCRIPTION = """Korean review sentiment with an LSTM you can open up.

`POST /v1/predict` classifies up to 256 reviews per request; `POST /v1/explain` opens the model on one
review (per-token evidence, gates, cell state). Every error is JSON: `error` (a code), `message` (what
to fix) and `details`. The web page is at `/`."""


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

    app = FastAPI(
        title="ksent",
        version=__version__,
        summary="Korean review sentiment (NSMC LSTM): predictions and explanations.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.include_router(api)
    app.include_router(health)
    app.include_router(pages)
    return app


def app_from_env() -> FastAPI:
    """The app with settings from the environment: each uvicorn worker process builds its own."""
    return create_app(Settings.from_env())
