"""Learning from a teacher (knowledge distillation): a small, fast model trained on the answers of a
stronger one, both trained on the same file.

With `distill` = w, each training row's target is (1 - w) * label + w * P_teacher(positive): the
teacher's doubt ("good acting, dull story": 0.3) says more than a 0 or 1. With `augment` = k, each
training review also gives k perturbed copies whose only label is the teacher's probability: more
text, answered by a model that reads it well. How a copy is made (`augment_recipe`):
- "drop_crop": a fifth of its words dropped, or a contiguous half to nine tenths of it kept;
- "mask_swap_ngram" (Tang et al. 2019, arXiv 1903.12136, as dsindex/iclassifier applies it to NSMC):
  each word masked (dropped: the student has no mask token) with p = 0.1, at most half of them; else,
  with p = 0.1, one of its content morphemes (nouns, verb and adjective stems, adverbs, roots:
  never particles, endings, auxiliary verbs or bound nouns) swapped for another of the same Kiwi tag,
  drawn by frequency from the training texts, and the word re-joined by Kiwi (즐겁 + 었어요 ->
  즐거웠어요); then, with p = 0.25, only an n-gram of n <= 5 of its words kept.
The validation rows are never shown to the teacher and keep their own labels, so the epoch kept and
the accuracy reported are the student's. docs/benchmarks.md has the runs.
"""

import dataclasses
import functools
import hashlib
import json
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ksent.atomic import replacing
from ksent.checkpoint import digest
from ksent.config import AUGMENT_RECIPES, Config
from ksent.data import Labelled, fingerprint
from ksent.errors import KsentError
from ksent.models.inference import evaluate_logits, p_positive
from ksent.progress import bar, notice, quiet
from ksent.text.tokenizers import analyses_shared, kiwi
from ksent.train import split

WORD_DROP = 0.2  # a perturbed copy drops each word with this probability ...
CROP = (0.5, 0.9)  # ... or keeps a contiguous run of this share of its words (either, at even odds)


def perturb(text: str, rng: np.random.Generator) -> str | None:
    """A copy of `text` with words dropped or cropped; None when it has too few words to change."""
    words = text.split()
    if len(words) < 2:
        return None
    if rng.random() < 0.5:
        kept = [w for w in words if rng.random() >= WORD_DROP] or [words[rng.integers(len(words))]]
    else:
        n = max(1, round(len(words) * rng.uniform(*CROP)))
        start = rng.integers(0, len(words) - n + 1)
        kept = words[start : start + n]
    out = " ".join(kept)
    return None if out == " ".join(words) else out


# mask_swap_ngram: Tang et al.'s probabilities; content morphemes by Kiwi tag (Sejong tag set)
P_MASK, P_SWAP, P_NGRAM, MAX_N = 0.1, 0.1, 0.25, 5
SWAP_TAGS = frozenset({"NNG", "NNP", "VV", "VA", "MAG", "XR"})  # not J* particles, E* endings, VX, NNB
SWAP_MIN_COUNT = 3  # a replacement is a morpheme seen this often in the training texts (no typos)


@dataclass
class Word:
    """One whitespace word of a review and its Kiwi morphemes ((form, tag), in order)."""

    text: str
    morphemes: list[tuple[str, str]]


def analysed(texts: Sequence[str], workers: int | None = None) -> list[list[Word]]:
    """Each text as its whitespace words with their morphemes (Kiwi; a morpheme belongs to the word
    its first character is in)."""
    out = []
    for text, tokens in zip(texts, kiwi(workers or 1).tokenize(list(texts)), strict=True):
        words = [Word(m.group(), []) for m in re.finditer(r"\S+", text)]
        ends = np.array([m.end() for m in re.finditer(r"\S+", text)])
        for t in tokens:
            k = int(np.searchsorted(ends, t.start, side="right"))
            if k < len(words):
                words[k].morphemes.append((t.form, t.tag))
        out.append(words)
    return out


def swap_pools(docs: Sequence[Sequence[Word]]) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per content tag, the morphemes seen at least SWAP_MIN_COUNT times and their sampling
    probabilities (proportional to their counts)."""
    counts: dict[str, Counter] = {tag: Counter() for tag in SWAP_TAGS}
    for words in docs:
        for w in words:
            for form, tag in w.morphemes:
                if tag in SWAP_TAGS:
                    counts[tag][form] += 1
    pools = {}
    for tag, c in counts.items():
        kept = sorted(f for f, n in c.items() if n >= SWAP_MIN_COUNT)
        if len(kept) >= 2:
            weights = np.array([c[f] for f in kept], dtype=np.float64)
            pools[tag] = (kept, weights / weights.sum())
    return pools


def swapped(word: Word, pools: dict, rng: np.random.Generator, join: Callable) -> str:
    """`word` with one of its content morphemes replaced by another of the same tag, re-joined; the
    word itself when it has none, or when the joined form would not be one word."""
    slots = [k for k, (_, tag) in enumerate(word.morphemes) if tag in pools]
    if not slots:
        return word.text
    k = slots[rng.integers(len(slots))]
    form, tag = word.morphemes[k]
    forms, p = pools[tag]
    new = forms[rng.choice(len(forms), p=p)]
    if new == form:
        return word.text
    joined = join(tuple(word.morphemes[:k] + [(new, tag)] + word.morphemes[k + 1 :]))
    return joined if joined and not any(c.isspace() for c in joined) else word.text


def mask_swap_ngram(words: Sequence[Word], pools: dict, rng: np.random.Generator, join: Callable) -> str | None:
    """One copy by Tang et al.'s recipe (module docstring); None when it equals the review."""
    if not words:
        return None
    out, masked = [], 0
    for w in words:
        r = rng.random()
        if r < P_MASK and masked < len(words) // 2:
            masked += 1
        elif r < P_MASK + P_SWAP:
            out.append(swapped(w, pools, rng, join))
        else:
            out.append(w.text)
    if out and rng.random() < P_NGRAM:
        n = int(rng.integers(1, min(MAX_N, len(out)) + 1))
        start = int(rng.integers(0, len(out) - n + 1))
        out = out[start : start + n]
    text = " ".join(out)
    return None if not text or text == " ".join(w.text for w in words) else text


def perturbed(
    texts: Sequence[str], copies: int, seed: int, recipe: str = "drop_crop", workers: int | None = None
) -> list[str]:
    """`copies` rounds of perturbing `texts` by `recipe` (the unchanged ones left out), reproducible
    from `seed`. "mask_swap_ngram" analyses the texts with Kiwi once (`workers` threads)."""
    return [t for one in perturbed_rounds(texts, copies, seed, recipe, workers) for t in one]


def perturbed_rounds(
    texts: Sequence[str], copies: int, seed: int, recipe: str = "drop_crop", workers: int | None = None
) -> list[list[str]]:
    """`perturbed`, one list per round. Rounds draw from one generator in turn, so the first k rounds
    of `copies` are those of `k`: more copies extend fewer (and the teacher's answers to them)."""
    rng = np.random.default_rng(seed)
    if recipe == "drop_crop":
        return [[t for t in (perturb(text, rng) for text in texts) if t is not None] for _ in range(copies)]
    if recipe != "mask_swap_ngram":
        raise KsentError(f"augment_recipe must be one of {', '.join(AUGMENT_RECIPES)}, got {recipe!r}")
    docs = analysed(texts, workers)
    pools, join = swap_pools(docs), functools.lru_cache(maxsize=200_000)(_joiner())
    return [
        [t for t in (mask_swap_ngram(words, pools, rng, join) for words in docs) if t is not None]
        for _ in range(copies)
    ]


def _joiner() -> Callable:
    """Morphemes ((form, tag), ...) -> their surface text, by Kiwi (a tuple argument: cacheable)."""
    k = kiwi(1)
    return lambda morphemes: k.join(list(morphemes))


class Teacher(Protocol):
    """What a teacher is to the student: a fitted model that answers `predict_proba` for raw reviews,
    with the config and metrics it was trained with (`SentimentClassifier` is one)."""

    config_: Config
    metrics_: dict

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


ANSWERS_FORMAT = 1  # bump when what a cached answer file holds changes
# config fields added since answers were cached that only shape training (the weights' digest holds what they
# did): left out of the key, so that answers cached before a field existed still serve
TRAINING_ONLY = frozenset({"distill_loss"})
# fields a teacher's answers do not depend on at their default (added later: cached answers still hold);
# a fitted teacher's weights are in its state_dict digest
UNHASHED_DEFAULTS = {"combine": "mean"}


def teacher_key(teacher: Teacher) -> str | None:
    """A SHA-256 of what decides a teacher's answers: its weights, its config, its featurizers' state,
    the analysers they ran on, and the device and PyTorch that compute them (a GPU's answers differ
    from a CPU's in the last digits). None for a teacher that is not a ksent model (not cached)."""
    from ksent.models.inference import model_device

    model, features = getattr(teacher, "model_", None), getattr(teacher, "features_", None)
    if model is None or features is None:
        return None
    h = hashlib.sha256(f"ksent-teacher/{ANSWERS_FORMAT}\n{digest(model.state_dict())}\n".encode())
    config = {
        k: v
        for k, v in dataclasses.asdict(teacher.config_).items()
        if k not in TRAINING_ONLY and UNHASHED_DEFAULTS.get(k, ...) != v
    }
    made = [config, features.state(readable=False), features.packages()]
    made.append({"device": model_device(model).type, "torch": torch.__version__})
    h.update(json.dumps(made, sort_keys=True, ensure_ascii=False, default=str).encode())
    return h.hexdigest()


def answered(
    teacher: Teacher,
    texts: Sequence[str],
    cache: Path | None = None,
    key: str | None = None,
    prefixes: Sequence[int] = (),
) -> tuple[np.ndarray, int]:
    """The teacher's P(positive) for each text (float32), and how many of them came from the cache.
    With a `cache` folder and a `teacher_key`, the answers are kept there, keyed by the teacher and the
    texts, written atomically and checked on read: a rerun, or a sweep of student settings over the
    same copies, asks the teacher once (its answers are most of a student's build: 1 M copies take a
    `teacher` about 20 minutes on 2 cores). `prefixes` are lengths of leading parts of `texts` that an
    earlier call may have answered (the rounds of fewer copies): the longest found is read, and the
    teacher answers only the rest."""
    known, path, these = _known_answers(texts, cache, key, prefixes)
    if len(known) == len(texts) and path is not None:
        return known, len(texts)
    p = np.concatenate([known, ask(teacher, texts[len(known) :])])
    _keep_answers(path, these, p)
    return p, len(known)


def encoded_and_answered(
    encode: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]],
    teacher: Teacher,
    texts: Sequence[str],
    cache: Path | None = None,
    key: str | None = None,
    prefixes: Sequence[int] = (),
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """`encode(texts)` (the student's ids, and whether each row has a token it knows) and `answered`'s
    answers and cache hits, made `ASK_CHUNK` texts at a time: the student and the teacher read each
    chunk inside one `analyses_shared()`, so where they read it with the same analyser (a born-again
    member and the ensemble that teaches it) each text is analysed once, not twice."""
    known, path, these = _known_answers(texts, cache, key, prefixes)
    cut = len(known)  # the chunks start again where the cached answers end: the teacher's chunks are the student's
    edges = [*range(0, cut, ASK_CHUNK), *range(cut, len(texts), ASK_CHUNK), len(texts)]
    xs, fed, ps = [], [], [known]
    with bar("encoding and answering copies", len(texts), progress) as advance, quiet():
        for lo, hi in zip(edges, edges[1:], strict=False):
            chunk = texts[lo:hi]
            with analyses_shared():
                x, f = encode(chunk)
                if lo >= cut:
                    ps.append(teacher.predict_proba(chunk)[:, 1].astype(np.float32))
            xs.append(x)
            fed.append(f)
            advance(len(chunk))
    if not xs:  # no texts
        x, f = encode(texts)
        return x, f, known, 0
    p = np.concatenate(ps)
    if cut < len(texts):
        _keep_answers(path, these, p)
    return np.concatenate(xs), np.concatenate(fed), p, cut


def _known_answers(
    texts: Sequence[str], cache: Path | None, key: str | None, prefixes: Sequence[int]
) -> tuple[np.ndarray, Path | None, str | None]:
    """The answers the cache holds for `texts` or its longest part among `prefixes` (empty when none),
    where the answers for all of `texts` are kept, and their digest (None, None without a cache)."""
    none = np.zeros(0, np.float32)
    if cache is None or key is None:
        return none, None, None
    ends = sorted({int(n) for n in prefixes if 0 < n < len(texts)} | {len(texts)})
    digests = _digests(key, texts, ends)
    these = digests[len(texts)]
    found = (_read_answers(_answers_path(cache, digests[n]), digests[n], n) for n in reversed(ends))
    return next((p for p in found if p is not None), none), _answers_path(cache, these), these


def _keep_answers(path: Path | None, these: str | None, p: np.ndarray) -> None:
    if path is not None:
        with replacing(path) as f:
            np.savez(f, key=np.array(these), p=p)


ASK_CHUNK = 65_536  # texts a teacher reads at once (`ask`)


def ask(teacher: Teacher, texts: Sequence[str]) -> np.ndarray:
    """The teacher's P(positive) for each text (float32), read `ASK_CHUNK` texts at a time. At once, every
    text's analyses and every member's ids are held together: the 6-member `teacher` (400 columns of
    character n-grams among them; 650 since it reads 2- to 6-grams across words) peaked at 4,599 MiB on
    200,000 copies, and a student's run answering 822,409 at 18.1 GiB; a chunk at a time it stayed at
    2,357 MiB whatever the number, in the same time (`benchmarks/answer_memory.py`)."""
    if len(texts) <= ASK_CHUNK:
        return teacher.predict_proba(texts)[:, 1].astype(np.float32)
    shows = bool(getattr(teacher, "progress", False))  # one bar over the chunks, not two bars per chunk
    out = np.empty(len(texts), np.float32)
    with bar("teacher answering", len(texts), shows) as advance, quiet():
        for start in range(0, len(texts), ASK_CHUNK):
            chunk = texts[start : start + ASK_CHUNK]
            out[start : start + len(chunk)] = teacher.predict_proba(chunk)[:, 1]
            advance(len(chunk))
    return out


def ask_ids(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """`ask` for texts whose ids the teacher's own features already made (`x`, a born-again member's
    training rows): the same `ASK_CHUNK` slices, so the same batches and the same answers, without
    reading the texts again."""
    parts = [p_positive(evaluate_logits(model, x[i : i + ASK_CHUNK])) for i in range(0, len(x), ASK_CHUNK)]
    return np.concatenate(parts).astype(np.float32) if parts else np.empty(0, np.float32)


def _digests(key: str, texts: Sequence[str], ends: Sequence[int]) -> dict[int, str]:
    """For each n in `ends` (ascending), the digest of this teacher and `texts[:n]`: the SHA-256 of the key
    and the texts joined by NUL, read in one pass (a copy of the running hash at each end)."""
    h, start, out = hashlib.sha256(f"{key}\n".encode()), 0, {}
    for end in ends:
        if end > start:
            if start:
                h.update(b"\0")
            h.update("\0".join(texts[start:end]).encode())
            start = end
        out[end] = h.copy().hexdigest()
    return out


def _answers_path(cache: Path, these: str) -> Path:
    """Where the answers whose digest is `these` are kept."""
    return Path(cache) / f"answers-{these[:32]}.npz"


def _read_answers(path: Path, these: str, n: int) -> np.ndarray | None:
    """The answers kept at `path` if they are whole and for these texts; None for a missing, corrupt or
    foreign file (asked again)."""
    try:
        with np.load(path) as z:  # (an npz reads an array at each access: once each)
            saved, p = str(z["key"]), z["p"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return p if saved == these and p.dtype == np.float32 and p.shape == (n,) else None


def check_teacher(teacher: Teacher, data: Labelled, cfg: Config) -> None:
    """The teacher must have learnt from the same rows, holding out at least the student's validation
    rows; otherwise its answers leak those rows and the student's validation accuracy means nothing.
    Same rows means the same contents (`data.fingerprint`), not just the same file name and length."""
    seen = (getattr(teacher, "metrics_", None) or {}).get("data")
    if not seen:
        raise KsentError("the teacher's metrics.json does not say what it was trained on: use a ksent train folder")
    name, total = Path(seen.get("train_file", "?")).name, seen.get("total")
    if seen.get("fingerprint") is None:
        raise KsentError(
            f"the teacher's metrics.json records no fingerprint of its training rows ({name}, {total} rows): it was "
            "trained by an older ksent, so whether it saw the same rows cannot be checked; retrain the teacher"
        )
    if seen["fingerprint"] != fingerprint(data):
        raise KsentError(
            f"the teacher was trained on {name} ({total} rows) and this run trains on {data.path.name} "
            f"({len(data)} rows){' with other contents' if (name, total) == (data.path.name, len(data)) else ''}: "
            "a teacher must learn from exactly the same rows (train it on the same file with the same --train/--limit)"
        )
    if teacher.config_.val_split < cfg.val_split:
        raise KsentError(
            f"the teacher held out val_split={teacher.config_.val_split} of its rows, less than this config's "
            f"{cfg.val_split}: it has trained on rows the student validates on; use a teacher whose val_split is at "
            "least as large"
        )


def check_validation_rows(teacher, first_line: int) -> None:
    """Firmer than the shares `check_teacher` compares, once the student's rows are known: the student's
    first validation row (its line in the file) must be at or after the teacher's, so that no row the
    student validates on was a teacher's training row (a teacher and a student that keep different rows,
    through another `clean` or rows left without tokens, shift the split by a few rows). Teachers saved
    before metrics.json recorded that line are checked by their shares alone."""
    theirs = ((getattr(teacher, "metrics_", None) or {}).get("data") or {}).get("first_validation_line")
    if theirs is not None and first_line < theirs:
        raise KsentError(
            f"this run validates from line {first_line} of the training file, but the teacher trained on every row "
            f"before line {theirs}: it has seen rows the student validates on (the two keep different rows: another "
            "`clean`?); give this run a smaller val_split (--set val_split=...), or train the teacher with a larger "
            "one or the student's cleaning"
        )


def teach(
    cfg: Config,
    encode: Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]],
    teacher: Teacher,
    texts: list[str],
    x: np.ndarray,
    y: np.ndarray,
    progress: bool,
    cache: Path | None = None,
    row_answers: np.ndarray | None = None,
):
    """The student's rows and targets: the training rows with the teacher's answers blended in, then the
    perturbed copies (teacher's answers only), then the validation rows as they were. `texts` are the
    rows of `x` as written (the teacher reads them so); `encode(texts)` gives the student's ids and
    whether each row has a token it knows. With a `cache` folder, the teacher's answers are kept there
    (`answered`). `row_answers`: the teacher's answers for the training rows where the caller has them
    (a born-again member's teacher reads the ids already made: no texts read again).

    Returns x, y (hard labels; a copy's is the teacher's answer rounded), targets, n_val and what was
    done (for metrics.json)."""
    n_train, n_val = split(len(x), cfg.val_split)  # checked before the teacher's minutes of work
    t0 = time.perf_counter()
    key = teacher_key(teacher) if cache is not None else None
    asked, cached = 0, 0  # answers to make, answers read from the cache
    targets = y.astype(np.float32)
    if cfg.distill:  # (only copies: the training rows keep their labels, and the teacher need not answer them)
        if row_answers is not None:
            if len(row_answers) != n_train:
                raise KsentError(f"row_answers holds {len(row_answers)} answers for {n_train} training rows")
            p, hit = row_answers, 0
        else:
            p, hit = answered(teacher, texts[:n_train], cache, key)
        asked, cached = asked + n_train, cached + hit
        targets[:n_train] = (1 - cfg.distill) * y[:n_train] + cfg.distill * p
    info = {"teacher_config": teacher.config_.name, "distill": cfg.distill, "augment": cfg.augment}
    if cfg.augment:
        info["augment_recipe"] = cfg.augment_recipe
    if cfg.augment:
        rounds = perturbed_rounds(texts[:n_train], cfg.augment, cfg.seed, cfg.augment_recipe)
        copies = [t for one in rounds for t in one]
        ends = np.cumsum([len(one) for one in rounds])[:-1]
        xa, fed, pa, hit = encoded_and_answered(encode, teacher, copies, cache, key, ends, progress)
        asked, cached = asked + len(copies), cached + hit
        xa, pa = xa[fed], pa[fed]  # a copy with no token the student knows teaches nothing
        x = np.concatenate([x[:n_train], xa, x[n_train:]])
        y = np.concatenate([y[:n_train], (pa >= 0.5).astype(y.dtype), y[n_train:]])
        targets = np.concatenate([targets[:n_train], pa, targets[n_train:]])
        info["augmented_rows"] = len(xa)
    info["teacher_seconds"] = round(time.perf_counter() - t0, 1)
    if progress:
        notice(
            f"teacher ({teacher.config_.name}) answered "
            + (f"{n_train:,} training rows" if cfg.distill else "")
            + (" and " if cfg.distill and cfg.augment else "")
            + (f"{info['augmented_rows']:,} perturbed copies" if cfg.augment else "")
            + (" (from the cache)" if asked and cached == asked else f" in {info['teacher_seconds']:.0f} s")
            + (f" ({cached:,} of them from the cache)" if 0 < cached < asked else "")
        )
    return x, y, targets, n_val, info
