import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
