import os
import warnings
from pathlib import Path

import anyio
import pytest

ROOT = Path(__file__).resolve().parents[1]

# anyio imports most of its names lazily, on first use: StaticFiles' first response imports open_file in
# the TestClient's thread. anyio is a pytest plugin, so pytest rewrites its modules with ast.parse, which
# CPython 3.11 can fail in a thread ("SystemError: AST constructor recursion depth mismatch", CPython
# gh-106905; seen once in CI, on /docs' Swagger assets). Resolve them all here, in the main thread.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # deprecated aliases warn when touched
    for _name in dir(anyio):
        getattr(anyio, _name, None)


@pytest.fixture(scope="session")
def nsmc_dir() -> Path:
    """The shared NSMC copy: $KSENT_DATA_DIR, else ../shared/data/nsmc beside the repo."""
    d = Path(os.environ.get("KSENT_DATA_DIR") or ROOT.parent / "shared" / "data" / "nsmc")
    if not (d / "ratings_train.txt").is_file():
        pytest.fail(f"NSMC not found in {d}: set KSENT_DATA_DIR to a folder with ratings_train.txt/ratings_test.txt")
    return d


@pytest.fixture(scope="session")
def hangul_root(tmp_path_factory) -> Path:
    """Every path the tests write lives under a Hangul folder name (the seed's path warning)."""
    d = tmp_path_factory.mktemp("ksent") / "한글 경로"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _cache_in_hangul_folder(hangul_root, monkeypatch):
    monkeypatch.setenv("KSENT_CACHE_DIR", str(hangul_root / "캐시"))


N_TRAINED = 8000


@pytest.fixture(scope="session")
def trained(nsmc_dir, tmp_path_factory):
    """The one small model the suite trains: the default config on the first 8,000 NSMC training
    rows, 3 epochs, saved under a Hangul path. Returns (classifier, model folder). Tests must not
    change it; copy what they need to change."""
    from ksent import SentimentClassifier
    from ksent.config import Config
    from ksent.data import nsmc_path, read_labelled

    train = read_labelled(nsmc_path("train", nsmc_dir)).head(N_TRAINED)
    clf = SentimentClassifier(Config(epochs=3, patience=2), device="cpu").fit_labelled(train)
    out = tmp_path_factory.mktemp("m") / "모델 폴더" / "기본"
    clf.save(out)
    return clf, out
