"""`ksent serve`'s web page in a real browser: the real server (`ksent serve` in a subprocess) and
Debian's Chromium, driven by Playwright. No browser is downloaded: /usr/bin/chromium must exist
(.ci/run installs it); without it this test fails, it does not skip.

Screenshots go to a temporary folder (printed), or to $KSENT_SCREENSHOT_DIR when set.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SENTIMENT = {0: "부정", 1: "긍정"}
REVIEW = "연기도 좋고 스토리도 최고 정말 재밌다"
REVIEWS = [REVIEW, "시간이 아깝다", "배우들 연기가 정말 최고였어요", "돈 주고 볼 영화는 아님 최악"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy
    with opener.open(url, timeout=timeout) as r:
        return r.read()


@contextmanager
def _serving(folder: Path, log_path: Path, env: dict | None = None) -> Iterator[str]:
    """`ksent serve --model FOLDER --port <free>` in a subprocess; yields its URL once /healthz answers."""
    port = _free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ksent", "serve", "--model", str(folder), "--port", str(port), "--device", "cpu"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"ksent serve exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                if b'"ok"' in _get(url + "/healthz"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"ksent serve did not answer /healthz within 120 s:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    """`ksent serve --model <the trained fixture> --port <free>`, up once /healthz answers."""
    with _serving(trained[1], tmp_path_factory.mktemp("serve") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install chromium); .ci/run does")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a loaded CI machine answers slower than a desktop
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the server's /, recording console errors and any request that leaves the server."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("request", lambda r: r.url.startswith((server, "data:")) or page.problems.append(f"outside: {r.url}"))
    page.goto(server + "/")
    yield page
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("KSENT_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_one_review_shows_label_probability_and_coloured_tokens(page, trained, shots):
    from playwright.sync_api import expect

    clf, _ = trained
    (record,) = clf.predict_records([REVIEW])
    explanation = clf.explain(REVIEW).to_dict()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#model-info")).to_contain_text("어휘")
    expect(page.locator("#model-info")).to_contain_text("형태소 분석 kiwipiepy")  # the analyser, named as one

    page.locator("#review").fill(REVIEW)
    page.get_by_role("button", name="분석하기").click()

    expect(page.locator("#single")).to_be_visible()
    expect(page.locator("#badge")).to_have_text(SENTIMENT[record.label])
    expect(page.locator("#p-positive")).to_have_text(f"{100 * record.p_positive:.1f}%")
    tokens = page.locator("#tokens .token")
    expect(tokens).to_have_count(len(explanation["tokens"]))
    fed = [t for t in explanation["tokens"] if t["evidence"] is not None]
    coloured = page.locator("#tokens .token[data-evidence]")
    expect(coloured).to_have_count(len(fed))
    for i, t in enumerate(fed):
        colour = coloured.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
        green_or_red = "22, 163, 74" if t["evidence"] >= 0 else "220, 38, 38"
        assert green_or_red in colour, (t, colour)
    # the gate chart: one line per gate and one for the cell state, a bar per fed token
    expect(page.locator("#chart svg path")).to_have_count(4)
    expect(page.locator("#chart svg rect")).to_have_count(len(fed))
    # hover: the token's gates and cell state (the tokens at the top of the window, so the tip opens below)
    page.locator("#tokens").evaluate("e => e.scrollIntoView({block: 'start'})")
    coloured.first.hover()
    expect(page.locator("#tip")).to_be_visible()
    expect(page.locator("#tip")).to_contain_text("망각 게이트")
    expect(page.locator("#tip")).to_contain_text("셀 상태")
    path = shots / "ksent-serve-one-review.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    assert path.stat().st_size > 10_000
    assert not page.problems, page.problems


def test_several_lines_give_a_table(page, trained, shots):
    from playwright.sync_api import expect

    clf, _ = trained
    records = clf.predict_records(REVIEWS)
    page.locator("#review").fill("\n".join(REVIEWS) + "\n\n")  # blank lines are not reviews
    page.get_by_role("button", name="분석하기").click()

    rows = page.locator("#table tbody tr")
    expect(rows).to_have_count(len(REVIEWS))
    for i, r in enumerate(records):
        expect(rows.nth(i).locator("td").nth(1)).to_have_text(r.text)
        expect(rows.nth(i).locator(".pill")).to_have_text(SENTIMENT[r.label])
        expect(rows.nth(i).locator(".bar span")).to_have_text(f"{100 * r.p_positive:.1f}%")
    expect(page.locator("#batch-summary")).to_contain_text(f"{len(REVIEWS)}개 리뷰")
    expect(page.locator("#single")).to_be_hidden()
    path = shots / "ksent-serve-table.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")

    rows.nth(1).click()  # a row opens its review's evidence
    expect(page.locator("#single")).to_be_visible()
    expect(page.locator("#verdict-text")).to_have_text(REVIEWS[1])
    assert not page.problems, page.problems


def test_hangul_has_a_font_even_on_a_machine_without_one(page):
    """The page's own NanumGothic loads (the browser's font sanitizer accepts it) in both weights it
    uses. CI's machine, like a fresh server, has no Korean system font: without it Hangul is boxes."""
    for weight in ("400", "700"):
        faces = page.evaluate(
            "w => document.fonts.load(`${w} 15px \"ksent NanumGothic\"`, '한').then(fs => fs.map(f => f.status))",
            weight,
        )
        assert faces == ["loaded"], (weight, faces)
    # the served files themselves (the CSS tries a local NanumGothic first, which a machine may have)
    for name in ("NanumGothic.ttf", "NanumGothicBold.ttf"):
        status = page.evaluate("n => new FontFace('probe', `url(/static/${n})`).load().then(f => f.status)", name)
        assert status == "loaded", name
    assert not page.problems, page.problems


def test_errors_show_the_apis_message(page, shots):
    from playwright.sync_api import expect

    # a review the model cannot read: the prediction, and a note with the API's reason for no evidence
    page.locator("#review").fill("abc 123")
    page.get_by_role("button", name="분석하기").click()
    expect(page.locator("#single")).to_be_visible()
    expect(page.locator("#explain-note")).to_contain_text("nothing to explain")
    expect(page.locator("#evidence-block")).to_be_hidden()

    # over a limit: the API's 422 message, shown as it is
    page.locator("#review").fill("좋다\n" + "가" * 5001)
    page.get_by_role("button", name="분석하기").click()
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("HTTP 422")
    expect(page.locator("#error")).to_contain_text("more than 5,000")
    page.screenshot(path=str(shots / "ksent-serve-error.png"), full_page=True)
    # console errors are the browser reporting the 422s the test asked for; nothing left the server
    assert not [p for p in page.problems if not p.startswith("console:")], page.problems


def _watch(page, server: str) -> None:
    """Record page errors and refuse, and record, every request that would leave `server` (no network)."""
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))

    def route(r):
        if r.request.url.startswith((server, "data:")):
            r.continue_()
        else:
            page.problems.append(f"outside: {r.request.url}")
            r.abort("internetdisconnected")

    page.route("**/*", route)


def test_api_docs_work_without_a_network(browser, server, shots):
    """/docs is Swagger UI from the installed fastapi-offline package: with every request outside the
    server refused, it renders the spec and runs a request."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
    page = context.new_page()
    _watch(page, server)
    page.goto(server + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ksent")
    operation = page.locator("#operations-sentiment-predict_v1_predict_post")
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text("200")
    # the Korean example and answer in NanumGothic, not boxes (CI's machine has no Korean font)
    for code in (operation.locator("textarea").first, operation.locator(".curl-command .curl span").first):
        assert code.evaluate("e => getComputedStyle(e).fontFamily") == '"ksent NanumGothic", monospace'
    title = page.locator(".swagger-ui .info .title").evaluate("e => getComputedStyle(e).fontFamily")
    assert title == '"ksent NanumGothic", sans-serif', title
    faces = page.evaluate(
        "() => document.fonts.load('15px \"ksent NanumGothic\"', '한').then(fs => fs.map(f => f.status))"
    )
    assert faces == ["loaded"], faces
    page.screenshot(path=str(shots / "ksent-serve-docs-offline.png"), full_page=False)
    context.close()
    assert not page.problems, page.problems


def test_the_page_asks_for_the_key_and_then_answers(browser, trained, tmp_path, shots):
    from playwright.sync_api import expect

    key = "page-test-key-0123456789"
    with _serving(trained[1], tmp_path / "server.log", {"KSENT_API_KEY": key}) as url:
        context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="ko-KR")
        page = context.new_page()
        _watch(page, url)
        page.goto(url + "/")
        expect(page.locator("#key-card")).to_be_visible()  # /v1/model answered 401
        page.locator("#review").fill(REVIEW)
        page.locator("#api-key").fill("wrong-key")
        page.get_by_role("button", name="저장").click()
        expect(page.locator("#error")).to_contain_text("API 키가 맞지 않습니다")
        expect(page.locator("#key-card")).to_be_visible()
        page.screenshot(path=str(shots / "ksent-serve-key.png"), full_page=False)
        page.locator("#api-key").fill(key)
        page.get_by_role("button", name="저장").click()
        expect(page.locator("#key-card")).to_be_hidden()
        expect(page.locator("#single")).to_be_visible()  # the review typed before is analysed
        expect(page.locator("#badge")).to_have_text(SENTIMENT[trained[0].predict_records([REVIEW])[0].label])
        expect(page.locator("#model-info")).to_contain_text("어휘")
        context.close()
    assert key not in (tmp_path / "server.log").read_text(errors="replace")
    # console errors are the browser reporting the 401s; nothing left the server
    assert not [p for p in page.problems if not p.startswith("console:")], page.problems
