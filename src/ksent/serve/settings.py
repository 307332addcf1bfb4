"""The server's settings, in one place: the API's limits (part of its contract, so constants that
the request schemas and the OpenAPI spec show) and what an operator may change per run (`Settings`,
filled by `ksent serve` or from KSENT_SERVE_* environment variables).
"""

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ksent.errors import KsentError

MAX_TEXT_CHARS = 5_000  # characters (code points) per review
MAX_TEXTS = 256  # reviews per /v1/predict request
# Bytes per request body. Large enough for any request within the two limits above even when a
# client escapes every character as \uXXXX (6 bytes; Python's json.dumps does by default):
# 256 x 5,000 x 6 = 7.68 MB; anything larger cannot be a valid request, so it is never read whole.
MAX_BODY_BYTES = 8 * 1024 * 1024

ENV_PREFIX = "KSENT_SERVE_"
# Fields read from a variable of their own name rather than KSENT_SERVE_<FIELD>.
ENV_NAMES = {"api_key": "KSENT_API_KEY"}


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
    # Requests admitted at once (queued or being answered); one more gets 503 with Retry-After rather
    # than a wait that grows without bound.
    max_queue: int = 64
    # Seconds a request may wait for the model, queue included; then 504 (and, if it has not started,
    # the model never runs it).
    timeout_s: float = 30.0
    # The bearer token every /v1 request must send (Authorization: Bearer KEY); None: no key asked.
    # repr=False: settings are printed and logged; the key never is.
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.max_queue < 1:
            raise KsentError(f"max_queue must be at least 1, got {self.max_queue}")
        if not self.timeout_s > 0:
            raise KsentError(f"timeout_s must be more than 0 seconds, got {self.timeout_s}")
        key = self.api_key
        if key is not None and (not key or not key.isascii() or not key.isprintable() or " " in key):
            # it travels in an HTTP header: visible ASCII, no spaces
            raise KsentError(
                "the API key is empty or not printable ASCII without spaces; make one with: openssl rand -hex 32"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Settings from KSENT_SERVE_MODEL, KSENT_SERVE_DEVICE, ... and KSENT_API_KEY (unset: the defaults)."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = env_name(f.name)
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _PARSE[f.name](raw)
            except ValueError:
                shown = "(hidden)" if f.name == "api_key" else repr(raw)
                raise KsentError(f"{name}={shown} is not a valid {f.name}") from None
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` return these settings (for server worker processes)."""
        return {
            env_name(f.name): "" if getattr(self, f.name) is None else str(getattr(self, f.name)) for f in fields(self)
        }


def env_name(name: str) -> str:
    """The environment variable of a settings field: KSENT_SERVE_<FIELD>, or its own (KSENT_API_KEY)."""
    return ENV_NAMES.get(name, ENV_PREFIX + name.upper())


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
    "max_queue": int,
    "timeout_s": float,
    "api_key": str,
}
