"""Every model format this ksent reads (`artifacts.READS`): a folder of each old format, written from
a freshly trained small model the way that format's ksent wrote its files, loads and predicts as the
model it came from; a newer format is refused, saying what to do.

The old layouts, from `git log -p -- src/ksent/artifacts.py src/ksent/config.py`:
  1 (0.1): config.json without "tokenizer"; vocab.json {"oov", "words"}
  2 (0.2): + "tokenizer" (the analyser's provenance), config "architecture" and "readout"; later the
     best config's parts (tags, packing, members, ...) joined the config under the same number
  3: + syllable members: vocab.json "syllables" (their word list)
  4: + the "subword" tokenizer: vocab.json "subword" (its learnt pieces, tokenizer JSON); later
     distill and augment joined the config
  5: + piece members: vocab.json "pieces" {"words", "subword"}
  6: vocab.json {"features": [one section per block]}, config "views"; later augment_recipe,
     adversarial, born_again and distill_loss joined the config under the same number
  7 (now): config "combine" (a "fitted" ensemble's weights hold its members' weights and bias); later
     a view's "votes" (false: its members only teach the born-again ones) joined under the same number
The rewrite was checked once against folders that ksent itself wrote at each of those commits (its
source from `git archive`): the same config keys and vocab.json layout, and this ksent loads them and
gives the same probabilities as the ksent that trained them.
"""

import dataclasses
import json
import shutil
import warnings

import numpy as np
import pytest

import ksent
from ksent import artifacts
from ksent.config import Config
from ksent.data import nsmc_path, read_labelled
from ksent.errors import KsentError
from ksent.text.tokenizers import provenance

# The config keys each format's ksent wrote, no more (src/ksent/config.py at the commits named).
KEYS_1 = (  # a38c341
    "name", "tokenizer", "clean", "stopwords", "min_count", "oov", "max_len", "padding", "truncating", "embed_dim",
    "hidden", "num_layers", "bidirectional", "dropout", "lr", "adam_eps", "batch_size", "epochs", "val_split",
    "patience", "seed",
)  # fmt: skip
KEYS_2 = (*KEYS_1, "architecture", "readout")  # 99fb8f4
KEYS_2_BEST = (  # 5bdb23f: the best config's parts, still format 2
    *KEYS_2, "tags", "token_dropout", "head_dropout", "pack", "members", "optimizer", "weight_decay", "schedule",
    "grad_clip", "bucket", "bf16",
)  # fmt: skip
KEYS_3 = (*KEYS_2_BEST, "syllable_members", "syllable_max_len", "syllable_epochs")  # a928c08
KEYS_4 = (*KEYS_3, "subword_vocab")  # 5f4c7b6
KEYS_5 = (*KEYS_4, "distill", "augment", "piece_members", "piece_max_len")  # a8175d6, a116e4d
KEYS_6 = (*KEYS_5, "views", "augment_recipe", "adversarial", "born_again", "distill_loss")  # c99f637

TEXTS = [
    "연기도 좋고 스토리도 최고",
    "시간 아깝다 최악",
    "",
    "!!!",
    "10점 만점에 1점 ㅋㅋ",
    "This movie is great",
    "꿀잼 " * 40,
]

# Small models, each with only what its format can say (every other key at its default).
TAGGED = dict(
    clean=False, tags=True, stopwords=[], min_count=1, max_len=20, padding="post", readout="max_mean",
    embed_dim=4, hidden=4, bidirectional=True, token_dropout=0.1, pack=True, bucket=True, members=2,
    optimizer="adamw", weight_decay=0.01, schedule="onecycle", epochs=1, batch_size=32,
)  # fmt: skip
SYLLABLES = dict(syllable_members=1, syllable_max_len=30)
MODELS = {
    "tagged": Config(name="형식 2", **TAGGED),
    "syllables": Config(name="형식 3", **TAGGED, **SYLLABLES),
    "subword": Config(name="형식 4", **{**TAGGED, "tags": False}, **SYLLABLES, tokenizer="subword", subword_vocab=150),
    "pieces": Config(name="형식 5", **TAGGED, **SYLLABLES, piece_members=1, piece_max_len=20, subword_vocab=150),
}


@pytest.fixture(scope="module")
def models(trained, nsmc_dir):
    rows = read_labelled(nsmc_path("train", nsmc_dir)).head(300)
    fitted = {name: ksent.SentimentClassifier(cfg, device="cpu").fit_labelled(rows) for name, cfg in MODELS.items()}
    return {"default": trained[0], **fitted}


def old_vocab(sections: list[dict]) -> dict:
    """vocab.json as formats 1-5 wrote it: one vocabulary, the other blocks' state as its fields."""
    tokens, *others = sections
    v = {"oov": tokens["oov"], "words": tokens["words"]}
    if "subword" in tokens:  # format 4
        v["subword"] = tokens["subword"]
    for s in others:
        if s["kind"] == "syllables":  # format 3
            v["syllables"] = s["words"]
        else:  # format 5
            assert s["kind"] == "pieces", s
            v["pieces"] = {"words": s["words"], "subword": s["subword"]}
    return v


def write_old(clf, folder, version: int, keys: tuple[str, ...]):
    """The model saved as it is now, then its config.json and vocab.json rewritten as format `version`."""
    out = clf.save(folder)
    meta = json.loads((out / "config.json").read_text(encoding="utf-8"))
    cfg = meta["config"]
    defaults = Config().to_dict()
    # the model must be one that format could hold: what it cannot say is at its default
    assert {k: v for k, v in cfg.items() if k not in keys} == {k: defaults[k] for k in cfg if k not in keys}
    meta.update(format_version=version, ksent_version="0.1.0" if version == 1 else "0.2.0")
    meta["config"] = {k: cfg[k] for k in keys}
    if version == 1:
        del meta["tokenizer"]
    else:
        meta["tokenizer"] = provenance(clf.config_.tokenizer)  # the analyser's alone, as then
    (out / "config.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    if version <= 5:
        sections = json.loads((out / "vocab.json").read_text(encoding="utf-8"))["features"]
        (out / "vocab.json").write_text(json.dumps(old_vocab(sections), ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def test_the_key_lists_name_config_fields():
    fields = [f.name for f in dataclasses.fields(Config)]
    newer = {"combine"}  # fields added while the format is 7
    assert set(KEYS_6) | newer == set(fields) and len(KEYS_6) == len(set(KEYS_6))


@pytest.mark.parametrize(
    "version, model, keys, vocab_keys",
    [
        (1, "default", KEYS_1, ["oov", "words"]),
        (2, "default", KEYS_2, ["oov", "words"]),
        (2, "tagged", KEYS_2_BEST, ["oov", "words"]),
        (3, "syllables", KEYS_3, ["oov", "syllables", "words"]),
        (4, "subword", KEYS_4, ["oov", "subword", "syllables", "words"]),
        (5, "pieces", KEYS_5, ["oov", "pieces", "syllables", "words"]),
        (6, "pieces", KEYS_6, ["features"]),
    ],
    ids=["1", "2", "2-best", "3", "4", "5", "6"],
)
def test_old_formats_load_and_predict_as_the_model_they_came_from(
    models, hangul_root, version, model, keys, vocab_keys
):
    clf = models[model]
    out = write_old(clf, hangul_root / "옛 형식" / f"{version} {model}", version, keys)
    assert sorted(json.loads((out / "vocab.json").read_text(encoding="utf-8"))) == vocab_keys
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same analyser: no tokenizer warning
        old = ksent.load(out, device="cpu")
    assert old.config_ == clf.config_  # the keys the format lacks mean their defaults
    assert old.features_.state() == clf.features_.state()  # every block's vocabulary and learnt pieces
    assert old.tokenizer_ == (None if version == 1 else provenance(clf.config_.tokenizer))
    np.testing.assert_array_equal(old.encode(TEXTS), clf.encode(TEXTS))
    np.testing.assert_array_equal(old.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    assert len(set(clf.predict_proba(TEXTS)[:, 1].tolist())) > 3  # the texts tell the model's answers apart


@pytest.mark.parametrize("model, field", [("syllables", "syllables"), ("pieces", "pieces")])
def test_an_old_folder_without_a_members_block_is_refused(models, hangul_root, model, field):
    version, keys = (3, KEYS_3) if field == "syllables" else (5, KEYS_5)
    out = write_old(models[model], hangul_root / "옛 형식" / f"{field} 없음", version, keys)
    v = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    del v[field]
    (out / "vocab.json").write_text(json.dumps(v, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(KsentError, match=rf"vocab\.json has no {field}, but the config has {field[:-1]} members"):
        ksent.load(out, device="cpu")


def test_a_newer_format_is_refused_saying_what_to_do(trained, hangul_root):
    _, folder = trained
    new = hangul_root / "새 형식"
    shutil.copytree(folder, new)
    meta = json.loads((new / "config.json").read_text(encoding="utf-8"))
    meta.update(format_version=artifacts.FORMAT_VERSION + 1, ksent_version="9.0.0")
    (new / "config.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(KsentError) as e:
        ksent.load(new, device="cpu")
    assert str(e.value) == (
        f"{new} has model format version 8; this ksent reads versions 1, 2, 3, 4, 5, 6, 7. "
        "Use the ksent version that wrote it (9.0.0) or retrain"
    )
    assert artifacts.FORMAT_VERSION == 7 and artifacts.READS == (1, 2, 3, 4, 5, 6, 7)  # this file covers each
