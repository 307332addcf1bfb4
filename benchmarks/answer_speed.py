"""A born-again member's teacher answering, the way before and the shared way, side by side in one run.

    python benchmarks/answer_speed.py --teacher runs/s6/teacher-w44 --copies 100000 --rows 30000

A born-again member (`born_again` in a config) reads the tokens block of its own run and learns from
the run's first members: both read the same texts with the same analyser. The saved model at
--teacher stands for those members here, and its own tokens block for the student. On the first
COPIES `drop_crop` copies of the NSMC training rows (seed 42) and the first ROWS training rows, timed
one after the other (after a warm-up, no token cache):

- copies, before: the student's ids for every copy, then the teacher's answers (`distill.ask`): the
  analyser runs twice over each copy;
- copies, shared: `distill.encoded_and_answered`, a chunk at a time inside one shared analysis;
- training rows, before: the teacher's answers from their texts (`distill.ask`: analysed again);
- training rows, from ids: the teacher over the ids a run already has (`row_answers` of `distill.teach`);
- each n-gram block of the teacher (character, word n-grams) encoding the copies, by the general path
  of every featurizer (`Featurizer.encode`: units listed once, then looked up) and by its own one pass
  per row (`known_ids`), the analysis made once beforehand for both.

Checks that both ways give the same ids and answers, and prints one JSON line with the seconds,
the ratios and the machine. Reads NSMC from --data-dir or $KSENT_DATA_DIR.
"""

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe, timed  # noqa: E402

from ksent import distill, load  # noqa: E402
from ksent.data import clean_training, nsmc_path, read_labelled  # noqa: E402
from ksent.features import Featurizer  # noqa: E402
from ksent.text.tokenizers import analyses_shared  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, help="a model folder (ksent train --config teacher)")
    ap.add_argument("--copies", type=int, default=100_000, help="copies to encode and answer")
    ap.add_argument("--rows", type=int, default=30_000, help="training rows to answer")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    texts = clean_training(read_labelled(nsmc_path("train", args.data_dir)), clean=False)[0].texts
    copies = []
    for one in distill.perturbed_rounds(texts, 16, seed=42):
        copies += one[: args.copies - len(copies)]
        if len(copies) == args.copies:
            break
    rows = texts[: args.rows]
    teacher = load(args.teacher, device="cpu")
    tokens = teacher.features_.tokens

    def encode(ts):  # a born-again member's ids: the teacher's own tokens block
        ids = tokens.encode(ts)
        return ids, (ids != 0).sum(axis=1) > 0

    teacher.predict_proba(texts[-500:])  # warm-up: the analyser loaded, the first calls made
    t0 = time.perf_counter()
    x_before, fed_before = encode(copies)
    p_before = distill.ask(teacher, copies)
    before = time.perf_counter() - t0
    (x_shared, fed_shared, p_shared, _), shared = timed(distill.encoded_and_answered, encode, teacher, copies)
    p_rows_before, rows_before = timed(distill.ask, teacher, rows)
    x_rows = teacher.encode(rows)  # made by the run before (its training ids), not timed
    p_rows_ids, rows_ids = timed(distill.ask_ids, teacher.model_, x_rows)  # as a born-again run does
    blocks = {}
    for block in teacher.features_.blocks:
        reader = block.featurizer
        if reader.network != "linear":
            continue
        with analyses_shared():
            reader.encode(copies)  # the word block's analysis, made once for both ways
            general, general_s = timed(Featurizer.encode, reader, copies)
            one_pass, one_pass_s = timed(reader.encode, copies)
        if not np.array_equal(general, one_pass):
            raise SystemExit(f"the {reader.kind} block's ids differ between the two ways")
        blocks[reader.kind] = {"general_s": round(general_s, 2), "one_pass_s": round(one_pass_s, 2)}
    if not (np.array_equal(x_before, x_shared) and np.array_equal(fed_before, fed_shared)):
        raise SystemExit("the student's ids differ between the two ways")
    differ = max(float(np.abs(p_before - p_shared).max()), float(np.abs(p_rows_before - p_rows_ids).max()))
    print(
        json.dumps(
            {
                "teacher": args.teacher,
                "members": len(getattr(teacher.model_, "members", lambda: [teacher.model_])()),
                "copies": len(copies),
                "rows": len(rows),
                "copies_before_s": round(before, 2),
                "copies_shared_s": round(shared, 2),
                "copies_speedup": round(before / shared, 2),
                "rows_before_s": round(rows_before, 2),
                "rows_from_ids_s": round(rows_ids, 3),
                "rows_speedup": round(rows_before / rows_ids, 2),
                "max_answer_difference": differ,
                "ngram_blocks": blocks,
                "machine": describe(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "date": date.today().isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
