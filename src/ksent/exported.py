"""An exported model (`ksent export`) on ONNX Runtime: predictions without torch.

`ExportedClassifier` answers as the model it was exported from (`predict`, `predict_proba`,
`predict_records`, `__call__`, `explain`): the same featurizers read the review (vocab.json), and the graph
computes the same logit (float32 to about 1e-7 in P(positive); `int8=True` runs the dynamically
quantized copy when the export has one). Nothing here imports torch.

>>> import ksent
>>> clf = ksent.load("exported/")  # doctest: +SKIP
>>> clf.predict(["연기도 좋고 스토리도 최고", "시간이 아깝다"])  # doctest: +SKIP
array([1, 0])
"""

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ksent.config import Config
from ksent.errors import KsentError
from ksent.features import FeatureSet, Run
from ksent.predict import Predicting, check_texts, length_batches, p_positive
from ksent.text.tokenizers import warn_if_tokenizer_differs

FORMAT = "ksent-export"
BUNDLED_EXPORT = Path(__file__).with_name("bundled_onnx")  # the bundled model, exported (float32 and int8)
READS = (1, 2, 3)  # 1: learnt subword models as JSON objects
BATCH = 256
LOGIT = ["logit"]  # the one output predictions fetch (the float32 graph also answers with its weights)
ONNX_TO_TORCH_GATES = (0, 2, 3, 1)  # ONNX's LSTM stacks the gates i, o, f, c; PyTorch's (and explain's) i, f, g, o


def _json(path: Path, folder: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KsentError(f"{path} is missing: {folder} is not a complete ksent export (run `ksent export`)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise KsentError(f"{path}: not valid JSON ({e}); the export is damaged: export the model again") from None


def is_export(path: str | Path) -> bool:
    """Whether `path` is a folder written by `ksent export` (its config.json says so)."""
    try:
        return json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


class ExportedClassifier(Predicting):
    """A model exported by `ksent export`, answering through ONNX Runtime with the prediction API
    of `SentimentClassifier` (`ksent.predict.Predicting`: predict, predict_proba, predict_records,
    score, and the instance called on texts).

    `threads`: ONNX Runtime's intra-op threads (default: its own choice); `workers`: the
    analyser's threads (models over Kiwi tokens), as `ksent.load`'s.
    """

    def __init__(self, path: str | Path, int8: bool = False, threads: int | None = None, workers: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise KsentError(
                f"{path} is an export: running it needs onnxruntime, which ksent installs: pip install onnxruntime"
            ) from None
        path = Path(path)
        if not path.is_dir():
            raise KsentError(f"export folder not found: {path} (make one with `ksent export --out {path}`)")
        meta = _json(path / "config.json", path)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise KsentError(
                f'{path / "config.json"} is not a ksent export (no "format": "{FORMAT}"); run `ksent export`'
            )
        if meta.get("format_version") not in READS:
            raise KsentError(
                f"{path} is export format {meta.get('format_version')!r}; this ksent reads "
                f"{', '.join(map(str, READS))}: export the model again with this ksent, or upgrade ksent"
            )
        self.config_ = Config.from_dict(meta.get("config"), source=str(path / "config.json"))
        self.features_ = FeatureSet.from_config(self.config_)
        vocab = _json(path / "vocab.json", path)
        if not isinstance(vocab, dict) or not isinstance(vocab.get("features"), list):
            raise KsentError(f'{path / "vocab.json"} has no "features" list; the export is damaged: export again')
        self.features_.load_state(vocab["features"], str(path / "vocab.json"))
        members = meta.get("members")
        self._check_sizes(path, members)
        self.metrics_ = _json(path / "metrics.json", path)
        self.tokenizer_ = meta.get("tokenizer")
        warn_if_tokenizer_differs(path, self.tokenizer_, self.config_.tokenizer, self.features_.packages())
        name = "model.int8.onnx" if int8 else "model.onnx"
        if name not in meta.get("files", []):
            raise KsentError(f"{path} has no {name}" + (": export with --int8" if int8 else "; export again"))
        options = ort.SessionOptions()
        # basic (constant folding and the like) is all an LSTM and a head gain from: the extended
        # fusions are for transformers; on the bundled export they gave the same logits at the same
        # speed, and only lengthened every cold start
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session_ = ort.InferenceSession(str(path / name), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # ONNX Runtime raises its own types for a missing, truncated or foreign file
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise KsentError(f"{path / name} cannot be loaded ({first}); the export is damaged: export again") from None
        self.path, self.workers, self.int8, self.source = path, workers, int8, meta.get("source")
        self.members_, self._options, self._open = members, options, None
        self.classes_ = np.array([0, 1])
        # a lone packed member reads exactly its tokens: reviews of one length batched together, cut
        # to that length, as PyTorch's inference runs them (same answers, less work)
        self._by_length = len(members) == 1 and bool(members[0].get("pack"))

    def _check_sizes(self, path: Path, members) -> None:
        """Each member's embedding (recorded at export) has as many rows as its featurizer's vocabulary."""
        if not isinstance(members, list) or not members:
            raise KsentError(f'{path / "config.json"} has no "members"; the export is damaged: export again')
        # the born-again members (last) read the token block
        blocks = self.features_.member_blocks() + [self.features_.blocks[0]] * self.config_.born_again
        if len(blocks) != len(members):
            raise KsentError(
                f"{path}: vocab.json has {len(blocks)} member blocks, the graph {len(members)}; export again"
            )
        for block, member in zip(blocks, members, strict=True):
            if block.featurizer.vocab_size != member.get("vocab_size"):
                raise KsentError(
                    f"{path / 'vocab.json'}: the {block.featurizer.kind} vocabulary has {block.featurizer.vocab_size} "
                    f"ids but the graph's embedding {member.get('vocab_size')}: vocab.json is not this model's; "
                    "export the model again"
                )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Padded ids (N, width), as the exported model's `encode`."""
        return self.features_.encode(check_texts(texts), Run(workers=self.workers))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits (N,) for padded ids (N, width)."""
        x = np.ascontiguousarray(x, dtype=np.int64)
        out = np.empty(len(x), dtype=np.float32)
        if self._by_length:
            for rows, width in length_batches(x, BATCH):
                out[rows] = self.session_.run(LOGIT, {"ids": x[rows, :width]})[0]
            return out
        for i in range(0, len(x), BATCH):
            out[i : i + BATCH] = self.session_.run(LOGIT, {"ids": x[i : i + BATCH]})[0]
        return out

    def _p_positive(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        x = self.encode(texts)
        return p_positive(self.logits(x)), x

    def explain(self, text: str, member: int = 0):
        """One review opened up, as `SentimentClassifier.explain`: the LSTM stepped in numpy with the
        export's float32 weights (`ksent.explain`), the evidence from this model's own answers."""
        from ksent.explain import explain_review

        return explain_review(self._opened(), self.features_, self.config_, text, member=member)

    def _opened(self):
        """The model as arrays for explain, read once from the float32 graph's weight outputs."""
        if self._open is None:
            import onnxruntime as ort

            from ksent.explain import OpenModel

            session = self.session_
            if self.int8:  # the quantized graph keeps int8 weights only
                session = ort.InferenceSession(
                    str(self.path / "model.onnx"), self._options, providers=["CPUExecutionProvider"]
                )
            names = [o.name for o in session.get_outputs() if o.name.startswith("weights.")]
            if not names:
                raise KsentError(
                    f"{self.path / 'model.onnx'} does not answer with its weights (an older export): "
                    "export the model again to explain with it"
                )
            ids = np.zeros((1, self.features_.width), np.int64)  # any input of the right width will do
            arrays = dict(zip(names, session.run(names, {"ids": ids}), strict=True))
            members = [_open_member(spec, k, arrays) for k, spec in enumerate(self.members_)]
            weights = [spec.get("weight", 1.0 / len(members)) for spec in self.members_]  # older exports: the mean
            self._open = OpenModel(members, lambda x: p_positive(self.logits(x)), weights)
        return self._open

    def __repr__(self) -> str:
        return f"ExportedClassifier({str(self.path)!r}, int8={self.int8})"


def _open_member(spec: dict, k: int, arrays: dict[str, np.ndarray]):
    """Member `k` of an export as explain's arrays, from the graph's `weights.{k}.*` outputs (ONNX's
    LSTM layout: W (D, 4H, in), R (D, 4H, H), B (D, 8H) = input and recurrent biases)."""
    from ksent.explain import LSTMWeights, OpenLinear, OpenMember

    columns = spec.get("columns")
    columns = None if columns is None else slice(*columns)
    if spec.get("network", "lstm") == "linear":
        w, idf, b = (arrays[f"weights.{k}.{name}"] for name in ("weight", "idf", "bias"))
        return OpenLinear(reads=spec["reads"], columns=columns, weight=w, idf=idf, bias=float(b[0]))
    h = spec["hidden"]

    def torch_gates(w: np.ndarray) -> np.ndarray:
        return np.concatenate([w[g * h : (g + 1) * h] for g in ONNX_TO_TORCH_GATES], axis=0)

    def get(name: str) -> np.ndarray:
        return arrays[f"weights.{k}.{name}"]

    cells = []
    for layer in range(spec["num_layers"]):
        w, r, b = get(f"W{layer}"), get(f"R{layer}"), get(f"B{layer}")
        cells.append(
            [(torch_gates(w[d]), torch_gates(r[d]), torch_gates(b[d, : 4 * h] + b[d, 4 * h :])) for d in range(len(w))]
        )
    return OpenMember(
        reads=spec["reads"],
        pack=spec["pack"],
        columns=columns,
        readout=spec["readout"],
        embedding=get("embedding"),
        lstm=LSTMWeights(cells),
        head_weight=get("head_weight")[0],
        head_bias=float(get("head_bias")[0]),
    )
