"""Peak memory of a teacher answering perturbed copies, at once and a chunk at a time (`ksent.distill.ask`).

    python benchmarks/answer_memory.py --teacher runs/teacher-ba44 --copies 200000
    python benchmarks/answer_memory.py --teacher runs/teacher-ba44 --copies 200000 --chunk 0   # all at once

Makes the first COPIES `drop_crop` copies of the NSMC training rows (seed 42, as a student's run
makes them), has the teacher answer them, and prints one JSON line: the copies, the chunk, the
seconds and the process's peak resident memory (ru_maxrss) before and after answering. Run each
setting in its own process: a peak cannot be reset. Reads NSMC from --data-dir or $KSENT_DATA_DIR.
"""

import argparse
import json
import resource
import time

from ksent import distill, load
from ksent.data import clean_training, nsmc_path, read_labelled


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, help="a model folder (ksent train --config teacher)")
    ap.add_argument("--copies", type=int, default=200_000, help="copies to answer")
    ap.add_argument("--chunk", type=int, default=distill.ASK_CHUNK, help="texts per call; 0: all at once")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    texts = clean_training(read_labelled(nsmc_path("train", args.data_dir)), clean=False)[0].texts  # as `distilled`
    copies = []
    for one in distill.perturbed_rounds(texts, 16, seed=42):
        copies += one[: args.copies - len(copies)]
        if len(copies) == args.copies:
            break
    teacher = load(args.teacher, device="cpu")
    distill.ASK_CHUNK = args.chunk or len(copies)
    before = peak_mib()
    t0 = time.perf_counter()
    p = distill.ask(teacher, copies)
    print(
        json.dumps(
            {
                "teacher": args.teacher,
                "copies": len(copies),
                "chunk": distill.ASK_CHUNK,
                "seconds": round(time.perf_counter() - t0, 1),
                "peak_mib_before": round(before),
                "peak_mib": round(peak_mib()),
                "mean_p": round(float(p.mean()), 6),
            }
        )
    )


if __name__ == "__main__":
    main()
