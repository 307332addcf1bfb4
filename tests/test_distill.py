"""Learning from a teacher (ksent.distill): perturbed copies, the targets and rows a student trains on,
the checks that keep its validation honest, and a small student trained end to end from the CLI."""

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import ksent
from ksent.cli import app
from ksent.config import Config, resolve
from ksent.data import Labelled, fingerprint, nsmc_path, read_labelled
from ksent.distill import (
    _digests,
    answered,
    check_teacher,
    check_validation_rows,
    encoded_and_answered,
    perturb,
    perturbed,
    perturbed_rounds,
    teach,
    teacher_key,
)
from ksent.errors import KsentError


def test_perturbed_copies_drop_or_crop_words_reproducibly():
    texts = ["배우 연기 정말 좋았고 스토리 도 최고", "최악", "그냥 볼만함 ㅎㅎ", ""]
    copies = perturbed(texts, 3, seed=7)
    assert copies == perturbed(texts, 3, seed=7) and copies != perturbed(texts, 3, seed=8)
    assert 0 < len(copies) <= 3 * 2  # one-word and empty reviews have nothing to perturb
    for c in copies:
        words, source = c.split(), next(t.split() for t in texts if set(c.split()) <= set(t.split()))
        assert words and words != source
        it = iter(source)
        assert all(w in it for w in words)  # the source's words, in its order
    rng = np.random.default_rng(0)
    assert perturb("한단어", rng) is None and perturb("", rng) is None
    # rounds come in turn from one generator: 5 copies begin with the 3 copies' rounds
    rounds = perturbed_rounds(texts, 5, seed=7)
    assert len(rounds) == 5 and [t for r in rounds[:3] for t in r] == copies


def test_mask_swap_ngram_copies_are_reproducible_and_swap_only_content_morphemes(nsmc_dir):
    from ksent import distill

    texts = read_labelled(nsmc_path("train", nsmc_dir)).head(600).texts
    copies = perturbed(texts, 2, seed=7, recipe="mask_swap_ngram")
    assert copies == perturbed(texts, 2, seed=7, recipe="mask_swap_ngram") and copies != perturbed(
        texts, 2, seed=8, recipe="mask_swap_ngram"
    )
    assert len(copies) > 600
    for t in texts[:40]:  # a copy is never its own review
        assert t.strip() not in perturbed([t], 3, seed=1, recipe="mask_swap_ngram")
    docs = distill.analysed(texts)
    pools = distill.swap_pools(docs)
    assert set(pools) <= distill.SWAP_TAGS and {"NNG", "VA"} <= set(pools)  # never particles or endings
    for forms, p in pools.values():
        assert len(forms) == len(set(forms)) and p.sum() == pytest.approx(1.0)

    # swapping alone (no masking, no n-grams): every word kept in place, and a word changes only if it
    # has a content morpheme; its particles and endings are re-joined by Kiwi (즐겁 + 었어요 -> 즐거웠어요)
    def join(morphemes):
        return distill.kiwi(1).join(list(morphemes))

    rng = np.random.default_rng(0)
    words = distill.analysed(["영화가 정말 재밌었어요 ㅋㅋ 10점!"])[0]
    assert [w.text for w in words] == ["영화가", "정말", "재밌었어요", "ㅋㅋ", "10점!"]
    ok = {"영화가", "정말", "재밌었어요", "ㅋㅋ", "10점!"}
    for _ in range(30):
        out = [distill.swapped(w, pools, rng, join) for w in words]
        assert out[3] == "ㅋㅋ" and all(o and " " not in o for o in out)
        assert out[0].endswith("가") or out[0].endswith("이") or out[0] == "영화가"  # the particle stays
        ok |= set(out)
    assert len(ok) > 8  # some words did change
    assert distill.swapped(distill.Word("ㅋㅋ", [("ㅋㅋ", "SW")]), pools, rng, join) == "ㅋㅋ"
    # at most half the words are masked, and a copy keeps its words in order (or one n-gram of them)
    for c in copies[:300]:
        assert c.strip() == c and "  " not in c
    with pytest.raises(KsentError, match="augment_recipe must be one of drop_crop, mask_swap_ngram"):
        perturbed(texts, 1, seed=0, recipe="masks")
    with pytest.raises(KsentError, match="augment_recipe must be one of drop_crop, mask_swap_ngram"):
        resolve("distilled", ["augment_recipe=masks"])


class FakeTeacher:
    """Answers P(positive) = 0.9 for every review that mentions 좋 and 0.2 otherwise."""

    config_ = SimpleNamespace(name="teacher", val_split=0.2)

    def __init__(self):
        self.asked = []

    def predict_proba(self, texts):
        self.asked.extend(texts)
        p = np.array([0.9 if "좋" in t else 0.2 for t in texts])
        return np.stack([1 - p, p], axis=1)


def test_teach_blends_the_teachers_answers_into_training_rows_only():
    texts = [
        "연기 좋다 정말",
        "시간 아깝다 진짜",
        "좋은 영화 였다 추천",
        "별로 였다 그냥",
        "좋다 좋아 최고",
        "노잼 최악 비추",
    ]
    texts = texts * 5  # 30 rows: 27 train, 3 validate at val_split 0.1
    x = np.arange(1, 31).reshape(30, 1).repeat(4, axis=1)
    y = np.array([1, 0, 1, 0, 1, 0] * 5)
    cfg = Config(distill=0.75, augment=2, val_split=0.1, max_len=4, seed=3)

    def encode(ts):  # the student's ids for the copies, and whether each has a token it knows
        ids = np.array([[100 + len(t), 0, 0, 0] for t in ts])
        return ids, np.ones(len(ts), dtype=bool)

    teacher = FakeTeacher()
    x2, y2, targets, n_val, info = teach(cfg, encode, teacher, texts, x, y, progress=False)
    n_train, copies = 27, perturbed(texts[:27], 2, seed=3)
    assert n_val == 3 and len(x2) == len(y2) == len(targets) == n_train + len(copies) + n_val
    assert set(teacher.asked[:n_train]) <= set(texts) and teacher.asked[n_train:] == copies  # never the validation rows
    p = np.array([0.9 if "좋" in t else 0.2 for t in texts[:n_train]])
    np.testing.assert_allclose(targets[:n_train], 0.25 * y[:n_train] + 0.75 * p, rtol=1e-6)
    p_copies = np.array([0.9 if "좋" in t else 0.2 for t in copies])
    np.testing.assert_allclose(targets[n_train:-n_val], p_copies, rtol=1e-6)  # a copy's target: the teacher's answer
    np.testing.assert_array_equal(y2[n_train:-n_val], p_copies >= 0.5)
    np.testing.assert_array_equal(x2[n_train:-n_val, 0], [100 + len(c) for c in copies])
    np.testing.assert_array_equal(x2[-n_val:], x[-n_val:])  # validation rows last, with their own labels
    np.testing.assert_array_equal(y2[-n_val:], y[-n_val:])
    assert info["augmented_rows"] == len(copies) and info["distill"] == 0.75
    # copies only (distill 0): the training rows keep their labels and the teacher answers the copies alone
    cfg = Config(distill=0.0, augment=1, val_split=0.1, max_len=4, seed=3)
    teacher = FakeTeacher()
    _, _, targets, _, _ = teach(cfg, encode, teacher, texts, x, y, progress=False)
    assert teacher.asked == perturbed(texts[:27], 1, seed=3)
    np.testing.assert_array_equal(targets[:n_train], y[:n_train])
    # the config's recipe makes the copies the teacher answers
    cfg = Config(distill=0.0, augment=3, augment_recipe="mask_swap_ngram", val_split=0.1, max_len=4, seed=3)
    teacher = FakeTeacher()
    _, _, _, _, info = teach(cfg, encode, teacher, texts, x, y, progress=False)
    assert teacher.asked == perturbed(texts[:27], 3, seed=3, recipe="mask_swap_ngram") != perturbed(texts[:27], 3, 3)
    assert info["augmented_rows"] == len(teacher.asked) > 0


def test_a_teachers_answers_are_cached_by_teacher_and_texts(trained, tmp_path, monkeypatch):
    """A rerun or a student sweep over the same copies asks the teacher once; other texts, another
    teacher or a damaged cache file ask it again, and the answers are the teacher's own."""
    teacher = ksent.load(trained[1], device="cpu")
    asked = []
    ask = teacher.predict_proba
    teacher.predict_proba = lambda texts: asked.append(len(texts)) or ask(texts)
    texts = ["연기가 정말 좋았어요", "시간이 아깝다", "", "최고의 영화"]
    key = teacher_key(teacher)
    p, hit = answered(teacher, texts, tmp_path, key)
    assert not hit and asked == [4] and p.dtype == np.float32
    np.testing.assert_array_equal(p, ask(texts)[:, 1].astype(np.float32))
    (saved,) = tmp_path.glob("answers-*.npz")
    again, hit = answered(teacher, texts, tmp_path, key)
    assert hit and asked == [4]  # from the file: the teacher was not asked
    np.testing.assert_array_equal(again, p)
    _, hit = answered(teacher, texts[:3], tmp_path, key)  # other texts: other answers
    assert not hit and asked == [4, 3]
    saved.write_bytes(saved.read_bytes()[:100])  # a damaged file is asked again, and rewritten
    _, hit = answered(teacher, texts, tmp_path, key)
    assert not hit and asked == [4, 3, 4]
    assert answered(teacher, texts, tmp_path, key)[1]
    assert answered(teacher, texts, None, key)[1] == 0 and asked[-1] == 4  # no cache folder: asked each time
    # more copies extend fewer: the answers to a leading part are read, the teacher answers the rest
    more = [*texts, "두 번 볼 영화", "별로"]
    p_more, hit = answered(teacher, more, tmp_path, key, prefixes=[2, 3, 4, 5])
    assert hit == 4 and asked[-1] == 2
    np.testing.assert_allclose(p_more, ask(more)[:, 1], rtol=1e-6, atol=1e-7)
    assert answered(teacher, more, tmp_path, key, prefixes=[4])[1] == 6 and asked[-1] == 2  # now whole
    # another teacher (one weight changed) has another key; a teacher that is no ksent model has none
    other = ksent.load(trained[1], device="cpu")
    with torch.no_grad():
        next(other.model_.parameters()).view(-1)[0] += 1
    assert teacher_key(other) != key == teacher_key(ksent.load(trained[1], device="cpu"))
    assert teacher_key(FakeTeacher()) is None
    # a field that only shapes training is not in the key (answers cached before it existed still serve)
    same = ksent.load(trained[1], device="cpu")
    same.config_ = dataclasses.replace(same.config_, distill_loss="logits")
    assert teacher_key(same) == key
    # the same teacher computing on another device gives answers that differ in the last digits
    monkeypatch.setattr("ksent.models.inference.model_device", lambda model: torch.device("cuda"))
    assert teacher_key(teacher) != key


def test_the_answer_keys_of_every_leading_part_come_from_one_pass():
    """One running hash gives each leading part's digest, the same as hashing that part alone (the key
    answers were cached under before), so the cache files of fewer copies are still found."""
    texts = ["연기가 좋다", "", "별로", "최고\0의 영화", "두 번 볼 영화"]
    ends = [1, 2, 3, 5]

    def alone(n: int) -> str:
        return hashlib.sha256(b"k\n" + "\0".join(texts[:n]).encode()).hexdigest()

    assert _digests("k", texts, ends) == {n: alone(n) for n in ends}
    assert _digests("k", [], [0]) == {0: alone(0)}
    assert _digests("other", texts, [5])[5] != alone(5)


def test_a_teacher_answers_many_texts_a_chunk_at_a_time(trained, monkeypatch, capsys):
    """`ask`: a teacher reads `ASK_CHUNK` texts at a time (the analyses and ids of 822,409 copies at
    once took 18.1 GiB); the answers are those of one call, under one bar, and its own bars stay off."""
    from ksent import distill

    teacher = ksent.load(trained[1], device="cpu", progress=True)
    texts = ["연기가 정말 좋았어요", "시간이 아깝다", "", "최고의 영화", "두 번 볼 영화", "별로"] * 2
    whole = teacher.predict_proba(texts)[:, 1]
    capsys.readouterr()
    sizes = []
    ask = teacher.predict_proba
    teacher.predict_proba = lambda chunk: sizes.append(len(chunk)) or ask(chunk)
    monkeypatch.setattr(distill, "ASK_CHUNK", 5)
    p = distill.ask(teacher, texts)
    assert sizes == [5, 5, 2] and p.dtype == np.float32 and teacher.progress
    np.testing.assert_allclose(p, whole, rtol=1e-5, atol=1e-6)
    err = capsys.readouterr().err
    assert err.count("teacher answering") == 1 and "scoring" not in err


def test_a_teacher_answers_from_ids_it_made_as_it_answers_their_texts(trained, monkeypatch):
    """`ask_ids`: a born-again member's training rows, answered from the ids the run made, in the slices
    `ask` reads the texts in (the same batches: the same answers); no rows, no answers."""
    from ksent import distill

    teacher = ksent.load(trained[1], device="cpu")
    texts = ["연기가 정말 좋았어요", "시간이 아깝다", "", "최고의 영화", "두 번 볼 영화", "별로"] * 2
    monkeypatch.setattr(distill, "ASK_CHUNK", 5)
    x = teacher.encode(texts)
    p = distill.ask_ids(teacher.model_, x)
    assert p.dtype == np.float32 and p.shape == (len(texts),)
    np.testing.assert_array_equal(p, distill.ask(teacher, texts))
    assert distill.ask_ids(teacher.model_, x[:0]).shape == (0,)


def test_a_student_and_a_teacher_with_one_analyser_analyse_each_copy_once(trained, tmp_path, monkeypatch, capsys):
    """`encoded_and_answered`: the student's ids and the teacher's answers, a chunk at a time inside one
    shared analysis: a born-again member and the ensemble teaching it (one analyser) analyse each copy
    once between them, under one bar; the ids and answers are those of one call each, and the cached
    answers (whole, or a leading part) are read as `answered` reads them, the chunks starting again where
    they end."""
    from ksent import distill
    from ksent.text import tokenizers

    teacher = ksent.load(trained[1], device="cpu", progress=True)
    texts = ["연기가 정말 좋았어요", "시간이 아깝다", "", "최고의 영화", "두 번 볼 영화", "별로", "다시 보고 싶다"] * 2
    texts[7:] = [t + " 진짜" for t in texts[7:]]  # 14 distinct texts

    def encode(ts):  # as a born-again member's: the teacher's own tokens block
        ids = teacher.features_.tokens.encode(ts, teacher._run(len(ts)))
        return ids, (ids != 0).sum(axis=1) > 0

    x_whole, fed_whole = encode(texts)
    p_whole = teacher.predict_proba(texts)[:, 1]
    analysed, asked = [], []
    real = tokenizers._RUNNERS["kiwi"]
    monkeypatch.setitem(tokenizers._RUNNERS, "kiwi", lambda ts, *a, **k: analysed.extend(ts) or real(ts, *a, **k))
    ask = teacher.predict_proba
    teacher.predict_proba = lambda ts: asked.append(len(ts)) or ask(ts)
    monkeypatch.setattr(distill, "ASK_CHUNK", 5)
    encode(texts), distill.ask(teacher, texts)  # the way before: the analyser reads every text twice
    before = sorted(analysed)
    analysed.clear(), asked.clear()
    capsys.readouterr()
    key = teacher_key(teacher)
    x, fed, p, hit = encoded_and_answered(encode, teacher, texts, tmp_path, key, progress=True)
    assert len(set(analysed)) == len(analysed) == len(texts) and before == sorted(analysed * 2)  # once each
    assert asked == [5, 5, 4] and hit == 0
    np.testing.assert_array_equal(x, x_whole)
    np.testing.assert_array_equal(fed, fed_whole)
    np.testing.assert_allclose(p, p_whole, rtol=1e-5, atol=1e-6)
    err = capsys.readouterr().err
    assert err.count("encoding and answering") == 1 and "tokenizing" not in err and "scoring" not in err
    cached, hit = answered(teacher, texts, tmp_path, key)  # the same cache files as `answered`'s
    assert hit == len(texts)
    np.testing.assert_array_equal(cached, p)
    # all answers cached: the student still encodes every copy, the teacher is asked nothing
    analysed.clear(), asked.clear()
    x, _, p_again, hit = encoded_and_answered(encode, teacher, texts, tmp_path, key)
    assert hit == len(texts) and not asked and len(analysed) == len(texts)
    np.testing.assert_array_equal(p_again, p)
    np.testing.assert_array_equal(x, x_whole)
    # a leading part cached (fewer rounds before): the teacher answers the rest, in chunks that start there
    more = [*texts, "두 번 다시 안 본다", "배우가 아깝다", "음악 최고"]
    analysed.clear(), asked.clear()
    x, _, p_more, hit = encoded_and_answered(encode, teacher, more, tmp_path, key, prefixes=[7, len(texts)])
    assert hit == len(texts) and asked == [3] and len(analysed) == len(more) == len(set(analysed))
    np.testing.assert_allclose(p_more, ask(more)[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x[: len(texts)], x_whole)
    # no cache: asked every time, the same answers
    asked.clear()
    assert encoded_and_answered(encode, teacher, texts)[3] == 0 and asked == [5, 5, 4]


def test_teach_takes_the_training_rows_answers_the_caller_has():
    """A born-again member's teacher has the training rows' ids already: `row_answers` stand for its
    answers on them (the texts are not read again), and the targets blend them as they blend asked ones."""
    texts = ["연기 좋다 정말", "시간 아깝다 진짜", "좋은 영화 였다 추천", "별로 였다 그냥"] * 5
    x = np.arange(1, 21).reshape(20, 1).repeat(4, axis=1)
    y = np.array([1, 0, 1, 0] * 5)
    cfg = Config(distill=0.5, augment=0, val_split=0.1, max_len=4, seed=3)
    n_train = 18  # 2 validation rows
    asked = teach(cfg, None, FakeTeacher(), texts, x, y, progress=False)[2]
    given = np.array([0.9 if "좋" in t else 0.2 for t in texts[:n_train]], dtype=np.float32)  # FakeTeacher's
    silent = FakeTeacher()
    told = teach(cfg, None, silent, texts, x, y, progress=False, row_answers=given)[2]
    assert silent.asked == []  # the texts were not read again
    np.testing.assert_allclose(told, asked, rtol=1e-6)
    zero = teach(cfg, None, silent, texts, x, y, progress=False, row_answers=np.zeros(n_train, np.float32))[2]
    np.testing.assert_allclose(zero[:n_train], 0.5 * y[:n_train])  # the answers given are the ones blended
    np.testing.assert_array_equal(zero[n_train:], y[n_train:])  # validation rows keep their labels
    with pytest.raises(KsentError, match="row_answers holds 3 answers for 18 training rows"):
        teach(cfg, None, silent, texts, x, y, progress=False, row_answers=given[:3])


def test_a_teacher_must_have_learnt_from_the_same_rows_holding_out_the_students_validation():
    texts = [f"리뷰 {i}" for i in range(10)]
    data = Labelled(Path("/data/ratings_train.txt"), texts, [i % 2 for i in range(10)], list(range(2, 12)))
    cfg = Config(val_split=0.1)

    def teacher(rows=data, file="ratings_train.txt", val_split=0.1, recorded=True):
        seen = {
            "train_file": f"/x/{file}",
            "total": len(rows),
            **({"fingerprint": fingerprint(rows)} if recorded else {}),
        }
        return SimpleNamespace(metrics_={"data": seen}, config_=SimpleNamespace(val_split=val_split))

    check_teacher(teacher(), data, cfg)
    check_teacher(teacher(file="다른 이름.tsv"), data, cfg)  # the same rows under another name: the same rows
    other = Labelled(data.path, texts[:8], data.labels[:8], data.lines[:8])
    with pytest.raises(KsentError, match=r"trained on other.tsv \(8 rows\) and this run trains on ratings_train.txt"):
        check_teacher(teacher(other, file="other.tsv"), data, cfg)
    # the same file name and length, other contents: a shuffled file, an edited review, a flipped label
    shuffled = Labelled(data.path, texts[::-1], data.labels[::-1], data.lines)
    edited = Labelled(data.path, ["리뷰 0!", *texts[1:]], data.labels, data.lines)
    flipped = Labelled(data.path, texts, [1 - y for y in data.labels], data.lines)
    for rows in (shuffled, edited, flipped):
        with pytest.raises(KsentError, match=r"\(10 rows\) with other contents: a teacher must learn from exactly"):
            check_teacher(teacher(rows), data, cfg)
    with pytest.raises(KsentError, match="records no fingerprint of its training rows"):
        check_teacher(teacher(recorded=False), data, cfg)
    with pytest.raises(KsentError, match="trained on rows the student validates on"):
        check_teacher(teacher(val_split=0.05), data, cfg)
    with pytest.raises(KsentError, match="does not say what it was trained on"):
        check_teacher(SimpleNamespace(metrics_={}), data, cfg)


def test_the_students_validation_rows_must_be_rows_the_teacher_held_out():
    def teacher(first_line):
        return SimpleNamespace(metrics_={"data": {"first_validation_line": first_line}})

    check_validation_rows(teacher(900), 900)
    check_validation_rows(teacher(900), 905)  # the student validates on fewer rows: all held out by the teacher
    with pytest.raises(KsentError, match="validates from line 897 .* every row before line 900"):
        check_validation_rows(teacher(900), 897)
    check_validation_rows(SimpleNamespace(metrics_={"data": {}}), 1)  # an older teacher: its shares were checked


def test_configs_and_teachers_must_go_together(trained):
    clf, folder = trained
    with pytest.raises(KsentError, match="learns from a teacher: pass teacher="):
        ksent.SentimentClassifier("distilled").fit(["좋다", "싫다"], [1, 0])
    with pytest.raises(KsentError, match="distill=0 and augment=0: it would not be used"):
        ksent.SentimentClassifier("fast", teacher=folder).fit(["좋다", "싫다"], [1, 0])
    with pytest.raises(KsentError, match="distill must be in"):
        resolve("distilled", ["distill=1.5"])


def test_a_small_student_learns_from_the_suites_model(trained, nsmc_dir, hangul_root):
    """`ksent train --config distilled --teacher DIR` on the rows the teacher learnt from: the teacher's
    answers and perturbed copies reach training, validation keeps its rows, and the model reloads."""
    _, teacher = trained
    n = len(read_labelled(nsmc_path("train", nsmc_dir)).head(8000))  # the rows the fixture learnt from
    out = hangul_root / "학생 모델"
    small = ["--set", "epochs=2", "--set", "hidden=16", "--set", "embed_dim=16", "--set", "subword_vocab=2000"]
    small += ["--set", "augment=1"]  # one copy per review (the preset's 8: eight times the teacher's work)
    args = [
        "train",
        "--config",
        "distilled",
        "--no-cache",
        "--teacher",
        str(teacher),
        "--limit",
        str(n),
        "--out",
        str(out),
    ]
    # The teacher (Hangul-only cleaning) keeps fewer rows than the student (no cleaning), so with the
    # teacher's own val_split (0.2) the student's validation starts a few lines before the teacher's.
    theirs = json.loads((teacher / "metrics.json").read_text(encoding="utf-8"))["data"]["first_validation_line"]
    result = CliRunner().invoke(
        app, [*args, "--data-dir", str(nsmc_dir), "--device", "cpu", *small, "--set", "val_split=0.2"]
    )
    assert isinstance(result.exception, KsentError), result.output
    found = re.search(r"validates from line (\d+) .* every row before line (\d+)", str(result.exception))
    assert found and int(found[1]) < int(found[2]) == theirs
    assert not out.exists()
    result = CliRunner().invoke(app, [*args, "--data-dir", str(nsmc_dir), "--device", "cpu", *small])  # val_split 0.1
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    t = metrics["training"]
    kept = metrics["data"]["kept"]
    assert t["teacher"]["teacher_config"] == "default" and t["teacher"]["augmented_rows"] > kept // 4
    assert t["n_val"] == int(kept * 0.1) and t["n_train"] == kept - t["n_val"] + t["teacher"]["augmented_rows"]
    assert metrics["validation"]["n"] == t["n_val"]
    # the file line validation starts at (lines count from 2: the header is line 1), for the next student's check
    assert metrics["data"]["first_validation_line"] >= t["n_train"] - t["teacher"]["augmented_rows"] + 2
    # it learned: measured 0.782 (student seed 42; seeds 43, 44: 0.772, 0.777; one direction of 128 units: 0.766,
    # 0.756, 0.753); chance is 0.5
    assert metrics["validation"]["accuracy"] > 0.75
    student = ksent.load(out, device="cpu")
    assert student.config_.distill == 0.8 and student.config_.augment == 1
    # a teacher trained on other rows is refused before any training
    result = CliRunner().invoke(
        app, [*args[:-4], "--limit", "500", "--out", str(out), "--data-dir", str(nsmc_dir), "--device", "cpu", *small]
    )
    assert isinstance(result.exception, KsentError) and "a teacher must learn from exactly the same rows" in str(
        result.exception
    )
    assert "learning subword pieces" not in result.output  # refused before any work


def test_born_again_members_are_the_students_a_teacher_run_would_make(nsmc_dir, tmp_path):
    """`born_again=1`: after the other members, one more token member learns from their ensemble's
    answers; it is exactly the student `--teacher` makes of those members saved as a model, the first
    members are exactly the run without it, and a resumed run reads every stage from its checkpoint."""
    rows = read_labelled(nsmc_path("train", nsmc_dir)).head(3000)
    small = ["hidden=16", "embed_dim=16", "epochs=2", "syllable_epochs=1", "members=1", "piece_members=0"]
    small += ["syllable_max_len=60", "max_len=40", "distill=0.8", "augment=1", "views={}", "born_again=0"]
    small += ["combine=mean"]  # the LSTM recipe alone, as `--teacher` students are
    cfg = resolve("best", [*small, "born_again=1"])
    one = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(rows, checkpoint=tmp_path / "ck")
    history = one.metrics_["training"]
    assert [m["reads"] for m in history["members"]] == ["tokens", "syllables", "tokens"]
    taught = history["members"][2]["born_again"]
    assert taught["teacher_config"] == "best" and taught["distill"] == 0.8 and taught["augmented_rows"] > 1000
    assert history["n_val"] == one.metrics_["validation"]["n"] == int(one.metrics_["data"]["kept"] * 0.1)

    base = ksent.SentimentClassifier(resolve("best", [*small, "distill=0", "augment=0"]), device="cpu")
    base.fit_labelled(rows).save(tmp_path / "base")
    student_cfg = resolve("best", [*small, "syllable_members=0"])
    student = ksent.SentimentClassifier(student_cfg, device="cpu", teacher=tmp_path / "base").fit_labelled(rows)
    weights = one.model_.state_dict()
    for k, v in base.model_.state_dict().items():
        assert torch.equal(weights[k], v), k
    for k, v in student.model_.state_dict().items():
        assert torch.equal(weights[f"nets.2.{k}"], v), k
    assert history["members"][2]["best_val_accuracy"] == student.metrics_["training"]["best_val_accuracy"]

    # saved and loaded as any ensemble; the born-again member opens its gates per token
    one.save(tmp_path / "one")
    loaded = ksent.load(tmp_path / "one", device="cpu")
    texts = ["배우 연기 정말 좋았다", "시간 아까운 최악의 영화"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), one.predict_proba(texts))
    e = loaded.explain(texts[1], member=2)
    assert (e.member, e.n_members, e.reads) == (2, 3, "tokens") and e.fed
    assert not np.allclose(e.hidden, loaded.explain(texts[1], member=0).hidden)  # its own gates, not member 0's

    resumed = ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(rows, checkpoint=tmp_path / "ck", resume=True)
    assert all(torch.equal(weights[k], v) for k, v in resumed.model_.state_dict().items())
    assert resumed.metrics_["training"]["members"][2]["resumed_after_epoch"] == 2


def test_a_view_that_only_teaches_teaches_as_a_voting_one_then_leaves_the_model(nsmc_dir, tmp_path):
    """views {"jamo": {"votes": false}}: its member learns and teaches the born-again member exactly as
    a voting jamo member would, then leaves: the model neither keeps it nor reads its block."""
    rows = read_labelled(nsmc_path("train", nsmc_dir)).head(2000)
    small = ["hidden=16", "embed_dim=16", "epochs=2", "members=1", "syllable_members=0", "piece_members=0"]
    small += ["max_len=40", "distill=0.8", "augment=1", "born_again=1"]
    jamo = {"max_len": 60, "epochs": 1}
    teaching = resolve("best", [*small, f"views={json.dumps({'jamo': {**jamo, 'votes': False}})}", "combine=fitted"])
    voting = resolve("best", [*small, f"views={json.dumps({'jamo': jamo})}"])
    a = ksent.SentimentClassifier(teaching, device="cpu").fit_labelled(rows)
    b = ksent.SentimentClassifier(voting, device="cpu").fit_labelled(rows)
    assert a.features_.kinds() == ["tokens"] and b.features_.kinds() == ["tokens", "jamo"]
    assert len(a.model_.members()) == 2 and len(b.model_.members()) == 3 and a.model_.weighted
    # the same first members, so the same teacher: the born-again members are the same network
    for net_a, net_b in ((0, 0), (1, 2)):
        for k, v in b.model_.nets[net_b].state_dict().items():
            assert torch.equal(a.model_.nets[net_a].state_dict()[k], v), (net_a, k)
    history = a.metrics_["training"]
    assert [m["reads"] for m in history["members"]] == ["tokens", "tokens"] and "born_again" in history["members"][1]
    before = history["before_born_again"]
    assert before["members"] == 2 and [m["reads"] for m in before["teaching_members"]] == ["jamo"]
    assert a.encode(["정말 재밌다"]).shape == (1, 40)  # the jamo block is not read when it predicts

    a.save(tmp_path / "모델")
    assert [s["kind"] for s in json.loads((tmp_path / "모델" / "vocab.json").read_text())["features"]] == ["tokens"]
    loaded = ksent.load(tmp_path / "모델", device="cpu")
    texts = ["배우 연기 정말 좋았다", "시간 아까운 최악의 영화"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), a.predict_proba(texts))
    e = loaded.explain(texts[1], member=1)
    assert (e.member, e.n_members, e.reads) == (1, 2, "tokens") and e.fed


def test_born_again_needs_what_it_learns_by_and_no_outside_teacher(trained):
    with pytest.raises(KsentError, match="born_again members learn from the other members' answers"):
        resolve("best", ["born_again=1", "distill=0", "augment=0"])
    with pytest.raises(KsentError, match="born_again must be >= 0"):
        resolve("best", ["born_again=-1", "distill=0.8"])
    _, teacher = trained
    clf = ksent.SentimentClassifier(resolve("best", ["born_again=1", "augment=8"]), teacher=teacher)
    with pytest.raises(KsentError, match="a teacher would not be used; drop the teacher"):
        clf.fit(["좋다", "싫다"], [1, 0])
