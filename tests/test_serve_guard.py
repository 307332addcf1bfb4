"""`ksent serve` under load and among strangers: the API key, the bounded queue (503 + Retry-After),
the per-request time limit (504), a fault in the model thread, /docs without a network, and several
server processes. In process (TestClient) where it can be, one real `ksent serve` subprocess where
only a real server shows it (processes, logs)."""

import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from ksent.errors import KsentError
from ksent.predict import Prediction
from ksent.serve import Settings, create_app
from ksent.serve.service import ModelService

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEY = "kS3nt-test-key-7f1e9c0d2b"
REVIEW = "연기도 좋고 스토리도 최고 정말 재밌다"
BEARER = {"Authorization": f"Bearer {KEY}"}


class _Held:
    """A stand-in classifier: each call records its texts and waits until `go` is set (a busy model).
    A text "💥" raises RuntimeError (a fault inside the model thread); "☠" ends the thread itself."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.go = threading.Event()

    def predict_records(self, texts):
        self.calls.append(list(texts))
        if "☠" in texts:
            raise SystemExit("the worker thread dies")  # not an Exception: nothing in the thread catches it
        self.go.wait(10)
        if "💥" in texts:
            raise RuntimeError("injected fault")
        return [Prediction(t, 1, 0.75, len(t)) for t in texts]

    def explain(self, text):
        return self.predict_records([text])[0]


def _swap(client, fake, **kw) -> ModelService:
    """Put a service over `fake` behind the client's app (the real one stays loaded, unused)."""
    service = ModelService(fake, "fake", batch_wait_ms=0.0, **kw).start()
    client.app.state.service = service
    return service


@pytest.fixture(scope="module")
def app_client(trained):
    """The app on the trained fixture, no key; 500s come back as responses (as a real server sends them)."""
    _, folder = trained
    with TestClient(create_app(Settings(model=folder, device="cpu")), raise_server_exceptions=False) as c:
        real = c.app.state.service
        yield c
        c.app.state.service = real  # closed by the lifespan


@pytest.fixture
def client(app_client):
    real = app_client.app.state.service
    yield app_client
    if app_client.app.state.service is not real:
        app_client.app.state.service.close(timeout=5)
        app_client.app.state.service = real


@pytest.fixture(scope="module")
def keyed(trained):
    _, folder = trained
    with TestClient(create_app(Settings(model=folder, device="cpu", api_key=KEY))) as c:
        yield c


# --- the key ---------------------------------------------------------------------------------------


def test_every_v1_route_needs_the_key(keyed):
    for method, path, body in (
        ("post", "/v1/predict", {"texts": [REVIEW]}),
        ("post", "/v1/explain", {"text": REVIEW}),
        ("get", "/v1/model", None),
    ):
        call = getattr(keyed, method)
        kw = {"json": body} if body is not None else {}
        for headers, error in (
            ({}, "missing_api_key"),
            ({"Authorization": "Bearer wrong-key"}, "wrong_api_key"),
            ({"Authorization": f"Bearer {KEY}x"}, "wrong_api_key"),
            ({"Authorization": f"Basic {KEY}"}, "missing_api_key"),
            ({"Authorization": "Bearer "}, "missing_api_key"),
        ):
            r = call(path, headers=headers, **kw)
            assert r.status_code == 401, (path, headers, r.text)
            assert r.json()["error"] == error
            if error == "missing_api_key":
                assert "Authorization: Bearer KEY" in r.json()["message"]
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert KEY not in r.text
        r = call(path, headers=BEARER, **kw)
        assert r.status_code == 200, r.text
    # what holds no data stays open: the page, its assets, the docs, the spec, liveness
    for path in ("/", "/static/app.js", "/docs", "/openapi.json", "/healthz"):
        assert keyed.get(path).status_code == 200, path


def test_the_key_holds_behind_a_proxy_prefix(keyed):
    """Behind a proxy (uvicorn --root-path /ksent) the server sees /ksent/v1/...; Starlette routes on
    the path without the prefix, and so does the key check."""
    with TestClient(keyed.app, root_path="/ksent") as c:
        r = c.post("/ksent/v1/predict", json={"texts": [REVIEW]})
        assert r.status_code == 401 and r.json()["error"] == "missing_api_key"
        assert c.post("/ksent/v1/predict", json={"texts": [REVIEW]}, headers=BEARER).status_code == 200
        assert 'href="/ksent/static/docs.css"' in c.get("/ksent/docs").text
        page = c.get("/ksent/")  # the page and what it loads and calls resolve under the prefix
        assert page.status_code == 200 and '<base href="/ksent/">' in page.text
        for ref in re.findall(r'(?:src|href)="(static/[^"]+)"', page.text):
            assert c.get("/ksent/" + ref).status_code == 200, ref
        assert c.get("/ksent/v1/model", headers=BEARER).status_code == 200  # app.js calls "v1/…"


def test_a_stranger_cannot_make_the_server_read_a_body(keyed):
    r = keyed.post("/v1/predict", content=b"x" * (9 << 20), headers={"content-type": "application/json"})
    assert r.status_code == 401 and r.json()["error"] == "missing_api_key"  # not 413: the body was never read


def test_the_spec_declares_bearer_auth_only_with_a_key(keyed, app_client):
    schemes = keyed.get("/openapi.json").json()["components"]["securitySchemes"]
    assert [s["scheme"].lower() for s in schemes.values()] == ["bearer"]
    assert "securitySchemes" not in app_client.get("/openapi.json").json().get("components", {})


def test_settings_never_show_the_key():
    s = Settings(api_key=KEY, max_queue=8, timeout_s=2.5)
    assert KEY not in repr(s) and KEY not in str(s)
    assert Settings.from_env(s.to_env()) == s
    assert Settings.from_env({"KSENT_API_KEY": KEY}).api_key == KEY
    for bad in ("", "two words", "키", "tab\there"):
        with pytest.raises(KsentError, match="openssl rand"):
            Settings(api_key=bad)
    with pytest.raises(KsentError, match="max_queue"):
        Settings(max_queue=0)
    with pytest.raises(KsentError, match="timeout_s"):
        Settings(timeout_s=0)


def test_serve_refuses_an_open_address_without_a_key(monkeypatch, capsys):
    from ksent.cli import main

    monkeypatch.delenv("KSENT_API_KEY", raising=False)
    for host in ("0.0.0.0", "192.168.0.7", "::", "example.com"):
        monkeypatch.setattr(sys, "argv", ["ksent", "serve", "--host", host, "--model", "/nonexistent/모델"])
        with pytest.raises(SystemExit) as e:
            main()
        (line,) = capsys.readouterr().err.splitlines()
        assert e.value.code == 2 and f"--host {host}" in line and "--no-api-key" in line and "KSENT_API_KEY" in line
    # with a key, or said explicitly, it goes on (to the next check: the model folder, missing here)
    for extra in (["--api-key", KEY], ["--no-api-key"]):
        monkeypatch.setattr(
            sys, "argv", ["ksent", "serve", "--host", "0.0.0.0", "--model", "/nonexistent/모델", *extra]
        )
        with pytest.raises(SystemExit):
            main()
        err = capsys.readouterr().err
        assert "model folder not found" in err and KEY not in err


@pytest.mark.parametrize("prefix", ["ksent", "/a//b", "/k?x=1", "/k#top"])
def test_serve_refuses_a_root_path_that_is_not_a_url_path(prefix, monkeypatch, capsys):
    from ksent.cli import main

    monkeypatch.setattr(sys, "argv", ["ksent", "serve", "--root-path", prefix, "--model", "/nonexistent/모델"])
    with pytest.raises(SystemExit) as e:
        main()
    (line,) = capsys.readouterr().err.splitlines()
    assert e.value.code == 2 and "--root-path is a URL path such as /ksent" in line and repr(prefix) in line


# --- load ------------------------------------------------------------------------------------------


def test_a_full_server_answers_503_with_retry_after(client):
    fake = _Held()
    service = _swap(client, fake, max_queue=2, timeout_s=10)
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client.post, "/v1/predict", json={"texts": [t]}) for t in ("가", "나")]
        deadline = time.monotonic() + 5
        while service.pending < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert service.pending == 2
        r = client.post("/v1/predict", json={"texts": ["다"]})
        assert r.status_code == 503 and r.json()["error"] == "overloaded", r.text
        assert int(r.headers["retry-after"]) >= 1 and "retry after" in r.json()["message"]
        r = client.post("/v1/explain", json={"text": "라"})
        assert r.status_code == 503  # explanations queue in the same line
        fake.go.set()
        assert [h.result().status_code for h in held] == [200, 200]
    assert service.pending == 0
    assert client.post("/v1/predict", json={"texts": ["마"]}).status_code == 200  # room again
    assert ["다"] not in fake.calls and ["라"] not in fake.calls  # refused requests never reached the model


def test_a_request_over_the_time_limit_gets_504_and_is_never_run(client):
    fake = _Held()
    service = _swap(client, fake, max_queue=8, timeout_s=0.3)
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(client.post, "/v1/predict", json={"texts": ["먼저"]})
        time.sleep(0.05)
        waiting = pool.submit(client.post, "/v1/predict", json={"texts": ["나중"]})
        for r in (running.result(), waiting.result()):
            assert r.status_code == 504 and r.json()["error"] == "timeout" and "0.3 s" in r.json()["message"]
    fake.go.set()
    r = client.post("/v1/predict", json={"texts": ["다음"]})
    assert r.status_code == 200, r.text
    assert fake.calls == [["먼저"], ["다음"]]  # "나중" timed out in the queue: the model never ran it
    assert service.pending == 0


def test_a_fault_in_the_model_thread_fails_only_its_request(client):
    """An exception inside the model call: 500 for the request that caused it, the others answered
    (in the same batch too), and the next requests as well."""
    real = client.app.state.service
    original = real.clf.predict_records

    def faulty(texts):
        if "💥" in texts:
            raise RuntimeError("injected fault")
        return original(texts)

    real.clf.predict_records = faulty
    try:
        texts = [[REVIEW], ["시간이 아깝다"], ["💥"], ["배우들 연기가 정말 최고였어요"], ["💥", REVIEW]] * 3
        with ThreadPoolExecutor(8) as pool:
            rs = list(pool.map(lambda t: client.post("/v1/predict", json={"texts": t}), texts))
    finally:
        real.clf.predict_records = original
    for t, r in zip(texts, rs, strict=True):
        if "💥" in t:
            assert r.status_code == 500 and r.json()["error"] == "internal_error", r.text
        else:
            assert r.status_code == 200 and [p["text"] for p in r.json()["predictions"]] == t
    assert client.post("/v1/predict", json={"texts": [REVIEW]}).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_dead_model_thread_is_reported_not_hung(client):
    fake = _Held()
    fake.go.set()
    service = _swap(client, fake, max_queue=8, timeout_s=1.0)
    r = client.post("/v1/predict", json={"texts": ["☠"]})
    assert r.status_code == 503 and r.json()["error"] == "model_stopped"  # told at once, not at the time limit
    service._thread.join(5)
    assert not service.alive
    r = client.post("/v1/predict", json={"texts": [REVIEW]})
    assert r.status_code == 503 and r.json()["error"] == "model_stopped"
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["error"] == "model_stopped"  # an orchestrator restarts it


# --- /docs ------------------------------------------------------------------------------------------


def test_docs_load_nothing_from_elsewhere(client):
    html = client.get("/docs").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
    urls = [a or b for a, b in urls]
    assert urls and not [u for u in urls if "//" in u], urls  # every asset from this server
    for u in urls:
        r = client.get(u)
        assert r.status_code == 200 and len(r.content) > 100, u
    assert "cdn" not in html.lower()
    assert client.get("/redoc").status_code == 200 and "cdn" not in client.get("/redoc").text.lower()


# --- a real server: several processes, the key through the environment, the logs ------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_several_processes_answer_with_the_key_under_a_prefix_and_never_log_it(trained, tmp_path):
    """Two worker processes, the key from the environment, and --root-path as a proxy that strips the
    prefix needs it (requests arrive without /ksent; the page's links carry it)."""
    import json
    import os

    _, folder = trained
    port = _free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, "KSENT_API_KEY": KEY}
    cmd = [sys.executable, "-m", "ksent", "serve", "--model", str(folder), "--port", str(port), "--processes", "2"]
    cmd += ["--root-path", "/ksent/"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*cmd, "--device", "cpu"], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while log_path.read_text(errors="replace").count("Application startup complete") < 2:  # both loaded
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.25)
        body = json.dumps({"texts": [REVIEW, "시간이 아깝다"]}, ensure_ascii=False).encode()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _call(url + "/v1/predict", body, BEARER), range(32)))
        assert {status for status, _ in answers} == {200}
        assert len({json.dumps(json.loads(b)["predictions"][0]["label"]) for _, b in answers}) == 1
        status, answer = _call(url + "/v1/predict", body)
        assert status == 401 and json.loads(answer)["error"] == "missing_api_key"
        assert _call(url + "/v1/predict", body, {"Authorization": "Bearer not-it"})[0] == 401
        assert _call(url + "/healthz")[0] == 200
        status, page = _call(url + "/")
        assert status == 200 and b'<base href="/ksent/">' in page
        assert _call(url + "/static/app.js")[0] == 200
        assert b"/ksent/static-offline-docs/swagger-ui-bundle.js" in _call(url + "/docs")[1]
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = log_path.read_text(errors="replace")
    servers = set(re.findall(r"Started server process \[(\d+)\]", log))
    assert len(servers) == 2 and "died" not in log, log  # two worker processes, neither killed while loading
    assert KEY not in log
    logged = '"POST /ksent/v1/predict HTTP/1.1" '  # uvicorn logs the path with the proxy's prefix
    assert log.count(logged + "200") == 32 and log.count(logged + "401") == 2
