"""The server's settings, in one place: the API's limits (part of its contract, so constants that
the request schemas and the OpenAPI spec show) and what an operator may change per run (`Settings`,
filled by `ksent serve` or from KSENT_SERVE_* environment variables).
"""

import os
from dataclasses import dataclass, fields
from pathlib import Path

from ksent.errors import KsentError

MAX_TEXT_CHARS = 5_000  # characters (code points) per review
MAX_TEXTS = 256  # reviews per /v1/predict request
# Bytes per request body. Large enough for any request within the two limits above even when a
# client escapes every character as \uXXXX (6 bytes; Python's json.dumps does by default):
# 256 x 5,000 x 6 = 7.68 MB; anything larger cannot be a valid request, so it is never read whole.
MAX_BODY_BYTES = 8 * 1024 * 1024

ENV_PREFIX = "KSENT_SERVE_"


@dataclass(frozen=True)
class Settings:
    model: Path | None = None  # a model folder or an export; None: the bundled model (`ksent.load()` without a path)
    device: str = "auto"  # auto (CUDA when present), cpu or cuda
    int8: bool = False  # an export's int8 copy
    threads: int | None = None  # torch (or ONNX Runtime) and analyser threads; None: the library defaults
    # Micro-batching: single-review requests that arrive within this window of each other share one
    # model call (up to max_batch_texts reviews). 0 still batches whatever is already queued.
    batch_wait_ms: float = 2.0
    max_batch_texts: int = 512
    max_body_bytes: int = MAX_BODY_BYTES

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Settings from KSENT_SERVE_MODEL, KSENT_SERVE_DEVICE, ... (unset: the defaults above)."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _PARSE[f.name](raw)
            except ValueError:
                raise KsentError(f"{ENV_PREFIX}{f.name.upper()}={raw!r} is not a valid {f.name}") from None
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` return these settings (for server worker processes)."""
        return {
            ENV_PREFIX + f.name.upper(): "" if getattr(self, f.name) is None else str(getattr(self, f.name))
            for f in fields(self)
        }


def _flag(raw: str) -> bool:
    """true/false, 1/0, yes/no, on/off (any case); anything else is a ValueError."""
    value = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
    try:
        return value[raw.strip().lower()]
    except KeyError:
        raise ValueError(raw) from None


_PARSE = {
    "model": Path,
    "device": str,
    "int8": _flag,
    "threads": int,
    "batch_wait_ms": float,
    "max_batch_texts": int,
    "max_body_bytes": int,
}
