#!/usr/bin/env python3
"""Summarise what the patch selection did in stream-train runs, per task, from their metrics.jsonl.

usage: selection_stats.py RUN_DIR [RUN_DIR ...]

Per task (mean over its steps): the AVM's pair accuracy (matched vs deranged pairs, before each AVM update; 0.5 is chance),
its BCE loss (0.693 is chance), the share of the AVM importance the selected patches hold (audio, video; rho = 0.5 of the
patches, so 0.5 means the pick ignores importance or the importance is flat, 1.0 the most any half can hold), and the mean
pruning probability of the top-kappa tokens (the share RCA is expected to exclude). Plain Python: no third-party modules.
"""
import json
import sys
from collections import defaultdict

FIELDS = ["avm_accuracy", "avm", "importance_kept_audio", "importance_kept_video", "pruned_top_audio", "pruned_top_video"]


def summarise(run):
    sums = defaultdict(lambda: defaultdict(float))
    counts = defaultdict(lambda: defaultdict(int))
    with open(f"{run}/metrics.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row.get("kind") != "train":
                continue
            for k in FIELDS:
                v = row.get(k)
                if isinstance(v, (int, float)):
                    sums[row["task"]][k] += v
                    counts[row["task"]][k] += 1
    print(f"{run}")
    print("  task  " + "  ".join(f"{k:>21}" for k in FIELDS))
    for task in sorted(sums):
        cells = [f"{sums[task][k] / counts[task][k]:21.3f}" if counts[task][k] else f"{'n/a':>21}" for k in FIELDS]
        print(f"  {task:>4}  " + "  ".join(cells))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for run in sys.argv[1:]:
        summarise(run)
