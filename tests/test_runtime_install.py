"""The runtime install (`pip install ksent`: ONNX Runtime, tokenizers, numpy; no torch, no Kiwi)
answers, explains, scores a file and serves with the bundled model's export, as the bundled model
answers on torch (to 1e-5), and says in one line what training needs.

Runs the commands in that install's own Python, named by KSENT_RUNTIME_PYTHON (.ci/run makes the
venv: `pip install '.[serve]'`); skipped where it is not set.
"""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import ksent
from ksent.data import nsmc_path, read_labelled

RUNTIME = os.environ.get("KSENT_RUNTIME_PYTHON")
pytestmark = pytest.mark.skipif(
    not RUNTIME, reason="KSENT_RUNTIME_PYTHON names no runtime install (make one: pip install '.[serve]' in a venv)"
)
REVIEWS = ["연기가 정말 좋았어요", "시간이 아깝다", "", "ㅋㅋㅋ", "10점 만점에 1점. 연기는 좋았지만 스토리가 지루했다"]


def runtime(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([RUNTIME, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def ksent_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return runtime("-m", "ksent", *args, cwd=cwd)


@pytest.fixture(scope="module")
def on_torch():
    return ksent.load(device="cpu")


def test_the_runtime_has_neither_torch_nor_kiwi(tmp_path):
    r = runtime("-c", "import importlib.util as u; print([m for m in ('torch', 'kiwipiepy') if u.find_spec(m)])",
                cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_predict_and_explain_answer_as_the_bundled_model_on_torch(tmp_path, on_torch):
    code = (
        "import json, sys, ksent\n"
        "clf = ksent.load()\n"
        f"texts = {REVIEWS!r}\n"
        "print(json.dumps({'kind': type(clf).__name__, 'p': clf.predict_proba(texts)[:, 1].tolist(),\n"
        "    'explain': clf.explain(texts[0]).to_dict(), 'torch': 'torch' in sys.modules}, ensure_ascii=False))\n"
    )
    r = runtime("-c", code, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["kind"] == "ExportedClassifier" and got["torch"] is False
    np.testing.assert_allclose(got["p"], on_torch.predict_proba(REVIEWS)[:, 1], rtol=0, atol=1e-5)
    want = on_torch.explain(REVIEWS[0]).to_dict()
    assert [t["text"] for t in got["explain"]["tokens"]] == [t["text"] for t in want["tokens"]]
    for signal in ("input_gate", "forget_gate", "cell", "hidden"):
        np.testing.assert_allclose(got["explain"]["trace"][signal], want["trace"][signal], atol=1e-5)
    np.testing.assert_allclose(
        [t["evidence"] for t in got["explain"]["tokens"]], [t["evidence"] for t in want["tokens"]], atol=1e-5
    )
    r = ksent_cli("predict", "--json", *REVIEWS[:2], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["label"] for line in r.stdout.splitlines()] == on_torch.predict(REVIEWS[:2]).tolist()
    r = ksent_cli("explain", REVIEWS[0], cwd=tmp_path)
    assert r.returncode == 0 and "좋았어요" in r.stdout, r.stderr


def test_a_file_is_scored_and_training_says_what_it_needs(tmp_path, nsmc_dir, on_torch):
    rows = read_labelled(nsmc_path("test", nsmc_dir)).head(300)
    source, out = tmp_path / "리뷰 모음.txt", tmp_path / "점수 결과.tsv"
    source.write_text("\n".join(t.replace("\n", " ") for t in rows.texts) + "\n", encoding="utf-8")
    r = ksent_cli("predict", "--file", str(source), "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    header, body = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    assert len(body) == 300
    p = np.array([float(row[header.index("p_positive")]) for row in body])
    np.testing.assert_allclose(
        p, on_torch.predict_proba(source.read_text(encoding="utf-8").splitlines())[:, 1], atol=1e-4
    )  # fmt: skip  (written with 4 decimals)
    r = ksent_cli("evaluate", "--data-dir", str(nsmc_dir), "--limit", "300", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 300
    r = ksent_cli("train", "--out", str(tmp_path / "모델"), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: torch is not installed: this needs ksent's training install: pip install 'ksent[train]'"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"content-type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, r.read()


def test_serve_answers_explains_and_shows_its_page(tmp_path, on_torch):
    port = _free_port()
    server = subprocess.Popen([RUNTIME, "-m", "ksent", "serve", "--port", str(port)], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if _call(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.5)
        status, body = _call(f"{base}/v1/predict", {"texts": REVIEWS})
        assert status == 200
        got = [p["p_positive"] for p in json.loads(body)["predictions"]]
        np.testing.assert_allclose(got, on_torch.predict_proba(REVIEWS)[:, 1], atol=1e-5)
        status, body = _call(f"{base}/v1/explain", {"text": REVIEWS[0]})
        assert status == 200 and json.loads(body)["trace"]["cell"]
        status, page = _call(f"{base}/")
        assert status == 200 and "<html" in page.decode("utf-8")
        status, font = _call(f"{base}/static/NanumGothic.ttf")  # the page's Hangul font
        assert status == 200 and font[:4] == b"\x00\x01\x00\x00"
    finally:
        server.terminate()
        server.wait(30)
