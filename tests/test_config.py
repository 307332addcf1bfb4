"""Config files: every value type-checked, errors one line naming the key and the file."""

import json
import signal
import subprocess
import sys

import pytest

from ksent.cli import main
from ksent.config import ARCHITECTURES, PRESETS, READOUTS, Config, resolve
from ksent.errors import KsentError


def write(folder, obj, name="설정.json"):
    path = folder / name
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def folder(hangul_root, request):
    d = hangul_root / "설정 폴더" / request.node.name.replace("/", "_")
    d.mkdir(parents=True)
    return d


BAD_TYPES = [
    ({"max_len": "30"}, "max_len", "a whole number"),
    ({"max_len": 30.0}, "max_len", "a whole number"),
    ({"epochs": 2.5}, "epochs", "a whole number"),
    ({"hidden": True}, "hidden", "a whole number"),  # bool is an int subclass in Python, not in a config
    ({"max_len": None}, "max_len", "a whole number"),
    ({"clean": "yes"}, "clean", "true or false"),
    ({"oov": 1}, "oov", "true or false"),
    ({"lr": "0.001"}, "lr", "a number"),
    ({"dropout": False}, "dropout", "a number"),
    ({"stopwords": "의,가"}, "stopwords", "list of strings"),
    ({"stopwords": ["의", 1]}, "stopwords", "list of strings"),
    ({"stopwords": None}, "stopwords", "list of strings"),
    ({"tokenizer": 1}, "tokenizer", "a string"),
    ({"readout": ["last"]}, "readout", "a string"),
]


@pytest.mark.parametrize("obj, key, wanted", BAD_TYPES, ids=[json.dumps(b[0]) for b in BAD_TYPES])
def test_type_errors_name_the_key_and_the_file(folder, obj, key, wanted):
    path = write(folder, obj)
    with pytest.raises(KsentError) as e:
        resolve(str(path))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: '{key}' must be ") and wanted in msg, msg
    assert msg.endswith(f"got {json.dumps(list(obj.values())[0], ensure_ascii=False)}"), msg
    with pytest.raises(KsentError, match=f"^config: '{key}' must be "):
        Config.from_dict(obj)  # from data, the default source name


def test_type_errors_show_hangul_values_as_written():
    with pytest.raises(KsentError, match=r'^config: \'stopwords\' must be a list of strings, got "의,가"$'):
        Config.from_dict({"stopwords": "의,가"})


@pytest.mark.parametrize("key, value", [("readout", "attention"), ("architecture", "gru"), ("readout", "Last")])
def test_unknown_readout_or_architecture_rejected(folder, key, value):
    with pytest.raises(KsentError, match=f"{key} must be one of") as e:
        resolve(str(write(folder, {key: value})))
    assert "\n" not in str(e.value)
    with pytest.raises(KsentError, match=f"{key} must be one of"):
        resolve("default", [f"{key}={value}"])


def test_every_readout_and_architecture_accepted(folder):
    for arch in ARCHITECTURES:
        for readout in READOUTS:
            cfg = resolve(str(write(folder, {"architecture": arch, "readout": readout})))
            assert (cfg.architecture, cfg.readout) == (arch, readout)
    assert (Config().architecture, Config().readout) == ("lstm", "last")


def test_whole_numbers_are_valid_for_float_fields(folder):
    cfg = resolve(str(write(folder, {"lr": 1, "adam_eps": 1, "dropout": 0, "max_len": 12, "stopwords": []})))
    assert (cfg.lr, cfg.adam_eps, cfg.dropout, cfg.max_len, cfg.stopwords) == (1, 1, 0, 12, [])
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_presets_and_saved_configs_round_trip(folder):
    from ksent.features import FeatureSet

    for name, preset in PRESETS.items():
        assert resolve(name) == preset
        assert resolve(str(write(folder, preset.to_dict(), f"{name}.json"))) == preset
        # every view a preset names takes the options it gives (checked before any training)
        features = FeatureSet.from_config(preset)
        assert len(features.member_blocks()) == preset.n_members() - preset.born_again


def test_other_config_file_errors_are_one_line(folder):
    cases = [
        (write(folder, ["max_len", 30], "목록.json"), "expected a JSON object of config keys, got list"),
        (write(folder, {"max_length": 30}, "오타.json"), "unknown config keys ['max_length']"),
        (write(folder, {"max_len": 0}, "영.json"), "max_len must be >= 1"),
    ]
    broken = folder / "깨짐.json"
    broken.write_text('{"max_len": 30,\n', encoding="utf-8")
    cases.append((broken, "not valid JSON"))
    cp949 = folder / "cp949.json"
    cp949.write_bytes('{"name": "한글"}'.encode("cp949"))
    cases.append((cp949, "is not UTF-8"))
    for path, wanted in cases:
        with pytest.raises(KsentError) as e:
            resolve(str(path))
        assert wanted in str(e.value) and "\n" not in str(e.value), str(e.value)
        if "max_len must" not in wanted:  # validation names the config; everything else names the file
            assert str(path) in str(e.value)


def test_set_overrides_are_parsed_and_checked():
    cfg = resolve("default", ["max_len=12", "lr=0.01", "clean=false", "stopwords=영화,정말", "readout=max_mean"])
    assert (cfg.max_len, cfg.lr, cfg.clean, cfg.readout) == (12, 0.01, False, "max_mean")
    assert cfg.stopwords == ["영화", "정말"]
    with pytest.raises(KsentError, match=r"^--set max_len=abc: expected a value of type int$"):
        resolve("default", ["max_len=abc"])
    with pytest.raises(KsentError, match=r"^--set clean=maybe: expected a value of type bool$"):
        resolve("default", ["clean=maybe"])


@pytest.mark.parametrize(
    "raw, words",
    [
        ("[]", []),  # no stopwords: once the one word "[]"
        ("", []),
        (" []", []),
        ("영화,정말", ["영화", "정말"]),
        ('["영화", "정말"]', ["영화", "정말"]),
        ('["쉼,표"]', ["쉼,표"]),  # in JSON a word may hold a comma
        ("[", None),
        ('["영화", 1]', None),
        ("[영화]", None),  # JSON wants quotes: no silent word "[영화]"
    ],
)
def test_set_list_values_are_words_or_a_json_list(raw, words):
    if words is not None:
        assert resolve("default", [f"stopwords={raw}"]).stopwords == words
        return
    with pytest.raises(KsentError) as e:
        resolve("default", [f"stopwords={raw}"])
    assert str(e.value) == (
        f"--set stopwords={raw}: expected a list of strings: comma-separated (영화,정말), "
        'or JSON (["영화", "정말"]; [] or nothing for none)'
    )


def test_set_object_values_are_json_objects():
    assert resolve("default", ['views={"jamo": {"members": 0, "max_len": 50}}']).views == {
        "jamo": {"members": 0, "max_len": 50}
    }
    assert resolve("default", ["views={}"]).views == {}
    for raw in ("[]", "{", '"jamo"'):
        with pytest.raises(KsentError, match=r"^--set views=.*: expected a JSON object of sections"):
            resolve("default", [f"views={raw}"])


def test_a_view_that_only_teaches_needs_born_again_members_and_is_not_counted_or_read():
    from ksent.features import FeatureSet

    ba = ["born_again=1", "distill=0.8", "members=1", "syllable_members=0", "piece_members=0"]
    views = 'views={"jamo": {"votes": false, "max_len": 50}, "words": {"members": 2}}'
    cfg = resolve("best", [*ba, views])
    assert cfg.teaching_views() == ["jamo"] and cfg.n_members() == 1 + 2 + 1  # tokens, words x2, born again
    # a model reads only the blocks that vote; training reads the teaching ones too, after them
    assert FeatureSet.from_config(cfg).kinds() == ["tokens", "words"]
    training = FeatureSet.from_config(cfg, teaching=True)
    assert training.kinds() == ["tokens", "words", "jamo"] and [b.votes for b in training.blocks] == [True, True, False]
    assert training.blocks[2].featurizer.width == 50  # "votes" is the section's, not the featurizer's
    with pytest.raises(KsentError, match=r"the views \['jamo'\] have votes=false: .* set born_again >= 1"):
        resolve("default", ['views={"jamo": {"votes": false}}'])
    with pytest.raises(KsentError, match='a view\'s "votes" must be true or false'):
        resolve("best", [*ba, 'views={"jamo": {"votes": "no"}}'])
    # a view of no members teaches nothing: it asks for no born-again member
    assert resolve("default", ['views={"jamo": {"members": 0, "votes": false}}']).teaching_views() == []


# --- through the command line ----------------------------------------------------------------------


def test_cli_reports_a_config_type_error_in_one_line(folder, monkeypatch, capsys):
    out = folder / "모델"
    before = signal.getsignal(signal.SIGTERM)
    for obj, key in (({"max_len": "30"}, "max_len"), ({"epochs": 2.5}, "epochs"), ({"readout": "attn"}, "readout")):
        path = write(folder, obj)
        monkeypatch.setattr(sys, "argv", ["ksent", "train", "--config", str(path), "--out", str(out)])
        with pytest.raises(SystemExit) as e:
            main()
        assert e.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        (line,) = captured.err.splitlines()
        assert line.startswith("error: ") and key in line, line
        if key != "readout":
            assert line.startswith(f"error: {path}: '{key}' must be "), line
        assert signal.getsignal(signal.SIGTERM) is before  # main() gives its caller's handler back
    assert not out.exists()


def test_cli_process_exits_2_without_a_traceback(folder):
    path = write(folder, {"clean": "yes"})
    r = subprocess.run(
        [sys.executable, "-m", "ksent", "train", "--config", str(path), "--out", str(folder / "모델")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr == f"error: {path}: 'clean' must be true or false, got \"yes\"\n"
    assert r.stdout == ""
