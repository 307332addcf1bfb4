"""A trained model is a folder: model.safetensors, config.json, vocab.json, metrics.json.

vocab.json holds the feature set (`ksent.features`): one section per block, in order, each written
and read by its own featurizer (`{"features": [{"kind": "tokens", "words": [...], ...}, ...]}`), so a
new way of reading a review needs no new format. Folders of formats 1-5 (one vocabulary with the
syllables and pieces as fields) still load.

config.json also records the versions of ksent and of the analyser that made the training tokens
(`tokenizer`: packages and options), so a model loaded elsewhere can say when its tokens may differ.
No pickle anywhere. The folder is written next to its destination under a temporary name and
renamed into place, so a crash never leaves a half-written model that loads.
"""

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ksent import atomic
from ksent.config import Config
from ksent.errors import KsentError
from ksent.features import FeatureSet

FORMAT = "ksent-model"
# 2: + "tokenizer" provenance, config "architecture" and "readout"; 3: + syllable members; 4: + subword;
# 5: + piece members; 6: vocab.json is the feature set's sections, one per block; 7: + config "combine"
# (a "fitted" ensemble's weights hold `weights` and `bias`, ksent.combine)
FORMAT_VERSION = 7
READS = (1, 2, 3, 4, 5, 6, 7)  # older folders load: their missing fields mean what their version did
FILES = ("model.safetensors", "config.json", "vocab.json", "metrics.json")


def save(
    out: str | Path,
    state: dict[str, torch.Tensor],
    cfg: Config,
    features: FeatureSet,
    metrics: dict,
    tokenizer: dict | None = None,
    extra: Callable[[Path], object] | None = None,
    half: bool = False,
) -> Path:
    """Write the model folder atomically. `extra(folder)` may add files (plots, a report) to the
    temporary folder before it is renamed into place: they appear together with the model or not at all."""
    from ksent._version import __version__

    out = Path(out)
    with atomic.replacing_folder(out) as tmp:
        # half: float16 on disk (half the size); loading copies the weights into float32 parameters
        tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        if half:
            # an ensemble's own weights and bias (ksent.combine) stay float32: a few numbers, read as fitted
            tensors = {k: v.half() if v.is_floating_point() and "." in k else v for k, v in tensors.items()}
        save_file(tensors, tmp / "model.safetensors")
        atomic.write_json(tmp / "vocab.json", {"features": features.state()})
        atomic.write_json(tmp / "metrics.json", metrics)
        if extra is not None:
            extra(tmp)
        # config.json last: it is what `load` checks first.
        atomic.write_json(
            tmp / "config.json",
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "ksent_version": __version__,
                "tokenizer": tokenizer,
                "config": cfg.to_dict(),
            },
        )
    return out


def read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KsentError(f"{path} is missing: {path.parent} is not a complete ksent model folder") from None
    except json.JSONDecodeError as e:
        raise KsentError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); the model folder is damaged") from None


def _legacy_sections(v: dict, cfg: Config) -> list[dict]:
    """A format 1-5 vocab.json (one vocabulary; syllables, subword and pieces as its fields) as the
    feature set's sections, in block order."""
    sections = [{"kind": "tokens", "words": v.get("words"), "oov": v.get("oov", cfg.oov)}]
    if "subword" in v:
        sections[0]["subword"] = v["subword"]
    if cfg.syllable_members:
        sections.append({"kind": "syllables", "words": v.get("syllables")})
    if cfg.piece_members:
        sections.append({"kind": "pieces", **(v.get("pieces") or {})})
    return sections


def _missing_block(path: Path, v: dict, cfg: Config) -> None:
    if cfg.syllable_members and "syllables" not in v:
        raise KsentError(f"{path} has no syllables, but the config has syllable members")
    if cfg.piece_members and "pieces" not in v:
        raise KsentError(f"{path} has no pieces, but the config has piece members")


def load(path: str | Path) -> tuple[dict[str, torch.Tensor], Config, FeatureSet, dict, dict | None]:
    """(weights, config, fitted feature set, metrics, tokenizer provenance or None if not recorded)."""
    path = Path(path)
    if not path.is_dir():
        raise KsentError(f"model folder not found: {path} (train one with `ksent train --out {path}`)")
    meta = read_json(path / "config.json")
    if meta.get("format") != FORMAT:
        raise KsentError(f'{path / "config.json"} is not a ksent model config (no "format": "{FORMAT}")')
    version = meta.get("format_version")
    if version not in READS:
        raise KsentError(
            f"{path} has model format version {version!r}; this ksent reads versions "
            f"{', '.join(map(str, READS))}. Use the ksent version that wrote it ({meta.get('ksent_version')}) "
            "or retrain"
        )
    cfg = Config.from_dict(meta.get("config"), source=str(path / "config.json"))
    features = FeatureSet.from_config(cfg)
    v = read_json(path / "vocab.json")
    if not isinstance(v, dict):
        raise KsentError(f"{path / 'vocab.json'}: expected a JSON object; the model folder is damaged")
    if version >= 6:
        if not isinstance(v.get("features"), list):
            raise KsentError(f'{path / "vocab.json"} has no "features" list; the model folder is damaged')
        sections = v["features"]
    else:
        _missing_block(path / "vocab.json", v, cfg)
        sections = _legacy_sections(v, cfg)
    features.load_state(sections, str(path / "vocab.json"))
    metrics = read_json(path / "metrics.json")
    try:
        state = load_file(path / "model.safetensors")
    except FileNotFoundError:
        raise KsentError(f"{path / 'model.safetensors'} is missing: the model folder is incomplete") from None
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise KsentError(f"{path / 'model.safetensors'} cannot be read ({e}); the model folder is damaged") from None
    return state, cfg, features, metrics, meta.get("tokenizer")
