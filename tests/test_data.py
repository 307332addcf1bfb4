import hashlib
import http.server
import re
import threading
from functools import partial
from pathlib import Path

import pytest

from ksent.data import NSMC_FILES, clean_training, download, nsmc_path, read_labelled
from ksent.errors import KsentError


def write(path, text: str | bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --- the real NSMC files ------------------------------------------------------------------------


def test_nsmc_counts_match_the_readme(nsmc_dir):
    train = read_labelled(nsmc_path("train", nsmc_dir))
    test = read_labelled(nsmc_path("test", nsmc_dir))
    assert len(train) == 150_000 and len(test) == 50_000
    assert (train.labels.count(0), train.labels.count(1)) == (75_173, 74_827)
    assert (test.labels.count(0), test.labels.count(1)) == (24_827, 25_173)
    assert train.texts.count("") == 5 and test.texts.count("") == 3
    assert len(set(train.texts) - {""}) == 146_182 and len(set(test.texts) - {""}) == 49_157
    assert train.lines[0] == 2 and train.lines[-1] == 150_001  # 1-based, after the header


def test_quotes_are_kept_exactly(nsmc_dir):
    path = nsmc_path("train", nsmc_dir)
    raw = [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n")[1:] if line]
    quoted = [i for i, f in enumerate(raw) if '"' in f[1]]
    assert quoted, "NSMC has documents with literal double quotes"
    train = read_labelled(path)
    for i in quoted:
        assert train.texts[i] == raw[i][1]


def test_training_filter_accounts_for_every_row(nsmc_dir):
    train = read_labelled(nsmc_path("train", nsmc_dir))
    kept, report = clean_training(train)
    assert report.dropped["empty document"] == 5
    assert report.dropped["duplicate document"] == 150_000 - 5 - 146_182
    assert report.dropped["empty after Hangul-only cleaning"] > 0
    assert report.kept == len(kept) == report.total - sum(report.dropped.values())
    # the rows kept keep their texts as written (cleaning is the featurizers' job), each with some Hangul
    # left to read, and each is the row of the file its line number says
    hangul = re.compile("[가-힣ㄱ-ㅣ]")
    assert all(hangul.search(t) for t in kept.texts)
    assert any(not hangul.fullmatch(c) and c != " " for t in kept.texts for c in t)  # not cleaned
    by_line = dict(zip(train.lines, train.texts, strict=True))
    assert all(by_line[line] == t for line, t in zip(kept.lines, kept.texts, strict=True))


def test_env_var_and_explicit_dir(nsmc_dir, monkeypatch, hangul_root):
    monkeypatch.setenv("KSENT_DATA_DIR", str(nsmc_dir))
    assert nsmc_path("test") == nsmc_dir / "ratings_test.txt"
    empty = hangul_root / "빈 폴더"
    empty.mkdir(exist_ok=True)
    with pytest.raises(KsentError, match="--data-dir must be a folder holding the NSMC files"):
        nsmc_path("test", empty)


# --- download: atomic and verified, tried against a local server -------------------------------


@pytest.fixture
def server(hangul_root):
    root = hangul_root / "서버"
    write(root / "ratings_test.txt", "id\tdocument\tlabel\n1\t좋아요\t1\n")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root
    httpd.shutdown()


def test_download_verifies_and_renames(server, hangul_root):
    url, root = server
    sha = hashlib.sha256((root / "ratings_test.txt").read_bytes()).hexdigest()
    dest = hangul_root / "내려받기" / "ratings_test.txt"
    download(url + "ratings_test.txt", dest, sha)
    assert read_labelled(dest).texts == ["좋아요"]
    assert [p.name for p in dest.parent.iterdir()] == ["ratings_test.txt"]  # no temp file left


def test_download_with_wrong_checksum_leaves_nothing(server, hangul_root):
    url, _ = server
    dest = hangul_root / "나쁜 파일" / "ratings_test.txt"
    with pytest.raises(KsentError, match="sha256"):
        download(url + "ratings_test.txt", dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []


def test_nsmc_path_downloads_into_cache(server, monkeypatch, hangul_root):
    url, root = server
    monkeypatch.delenv("KSENT_DATA_DIR", raising=False)
    monkeypatch.setenv("KSENT_CACHE_DIR", str(hangul_root / "새 캐시"))
    monkeypatch.setattr("ksent.data.NSMC_URL", url)
    sha = hashlib.sha256((root / "ratings_test.txt").read_bytes()).hexdigest()
    monkeypatch.setitem(NSMC_FILES, "test", ("ratings_test.txt", sha))
    path = nsmc_path("test")
    assert path == hangul_root / "새 캐시" / "nsmc" / "ratings_test.txt" and path.is_file()


def test_download_unreachable_says_how_to_fix(hangul_root):
    with pytest.raises(KsentError, match="--data-dir"):
        download("http://127.0.0.1:9/nothing", hangul_root / "x" / "f.txt", "0" * 64, timeout=2)


# --- bad input: file, line, fix -----------------------------------------------------------------


def test_missing_file(hangul_root):
    with pytest.raises(KsentError, match="file not found: .*없는 파일.tsv"):
        read_labelled(hangul_root / "없는 파일.tsv")


def test_missing_column_names_header_and_flag(hangul_root):
    f = write(hangul_root / "열.tsv", "id\ttext\ty\n1\t좋다\t1\n")
    with pytest.raises(KsentError, match=r"열.tsv:1: no column named 'document'.*--text-col"):
        read_labelled(f)
    assert read_labelled(f, text_col="text", label_col="y").labels == [1]


def test_label_outside_01_names_line(hangul_root):
    f = write(hangul_root / "라벨.tsv", "id\tdocument\tlabel\n1\t좋다\t1\n2\t별로\t5\n")
    with pytest.raises(KsentError, match=r"라벨.tsv:3: label '5' in column 'label' is not 0 or 1"):
        read_labelled(f)


def test_wrong_field_count_names_line(hangul_root):
    f = write(hangul_root / "행.tsv", "id\tdocument\tlabel\n1\t좋다\t1\n2\t탭이\t하나 더\t0\n")
    with pytest.raises(KsentError, match=r"행.tsv:3: expected 3 tab-separated fields .* found 4"):
        read_labelled(f)


def test_undecodable_bytes_give_line_and_offset(hangul_root):
    head = "id\tdocument\tlabel\n1\t좋다\t1\n".encode()
    f = write(hangul_root / "인코딩.tsv", head + b"2\t" + "별로".encode("cp949") + b"\t0\n")
    with pytest.raises(KsentError, match=rf"인코딩.tsv:3: byte offset {len(head) + 2} .* not valid UTF-8"):
        read_labelled(f)


def test_empty_and_header_only(hangul_root):
    with pytest.raises(KsentError, match="is empty"):
        read_labelled(write(hangul_root / "빈.tsv", ""))
    with pytest.raises(KsentError, match="no rows"):
        read_labelled(write(hangul_root / "헤더.tsv", "document\tlabel\n"))


def test_csv_with_quoted_commas(hangul_root):
    f = write(hangul_root / "리뷰.csv", 'text,label\n"좋다, 정말 좋다",1\n별로,0\n')
    d = read_labelled(f, text_col="text")
    assert d.texts == ["좋다, 정말 좋다", "별로"] and d.labels == [1, 0] and d.lines == [2, 3]
    with pytest.raises(KsentError, match=r"리뷰2.csv:3: expected 2 ','-separated fields"):
        read_labelled(write(hangul_root / "리뷰2.csv", "text,label\n좋다,1\n좋다, 정말,1\n"), text_col="text")


def test_crlf_and_bom(hangul_root):
    f = write(hangul_root / "윈도우.tsv", "\ufeffid\tdocument\tlabel\r\n1\t좋다\t1\r\n")
    d = read_labelled(f)
    assert d.texts == ["좋다"] and d.labels == [1]


def test_drop_reasons_have_one_definition():
    from ksent.data import DROP_REASONS, EMPTY, DropReport

    report = DropReport(total=3, kept=2)
    report.drop(EMPTY, 4)
    assert report.to_dict()["dropped"] == {reason: int(reason == EMPTY) for reason in DROP_REASONS}  # zeros too
    with pytest.raises(ValueError, match="unknown drop reason"):
        report.drop("empty doc", 5)  # a misspelt reason fails loudly instead of counting under a new key


def test_lower_modules_do_not_import_the_package_root():
    """Only the root re-exports the API; a module below it that imported `ksent` itself (for
    `__version__`, say) would form an import cycle hidden by function-level imports. The CLI and
    `__main__` sit above the API and may use it."""
    import ast

    root = Path(__file__).resolve().parents[1] / "src" / "ksent"
    offenders = []
    for path in root.rglob("*.py"):
        if path.parent == root and path.name in ("__init__.py", "__main__.py", "cli.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "ksent" for a in node.names):
                offenders.append(f"{path.name}: import ksent")
            if isinstance(node, ast.ImportFrom) and node.module == "ksent":
                subs = {
                    a.name for a in node.names if not (root / a.name).is_dir() and not (root / f"{a.name}.py").is_file()
                }
                if subs:
                    offenders.append(f"{path.name}: from ksent import {', '.join(sorted(subs))}")
    assert offenders == []
