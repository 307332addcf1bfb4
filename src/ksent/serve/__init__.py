"""`ksent serve`: the model behind an HTTP API (FastAPI) and a web page in Korean.

- `settings`: the API's limits and the operator's `Settings`.
- `schemas`: request and response bodies (pydantic), with their limits.
- `service`: the loaded model and the one worker thread that runs it (serialized, micro-batched).
- `routes`: /v1/predict, /v1/explain, /v1/model, /healthz, and the page at /.
- `fonts`: NanumGothic made fit for browsers, for Hangul where the client has no Korean font.
- `errors`, `middleware`: every error as JSON that says what to fix; body size and encoding checks.
- `app`: `create_app(settings)`, the model loaded in its lifespan.

Needs the `serve` extra: pip install 'ksent[serve]'.
"""

from ksent.serve.app import create_app
from ksent.serve.settings import MAX_BODY_BYTES, MAX_TEXT_CHARS, MAX_TEXTS, Settings

__all__ = ["MAX_BODY_BYTES", "MAX_TEXTS", "MAX_TEXT_CHARS", "Settings", "create_app"]
