#!/usr/bin/python3
"""Prints the thesis' "Rel." column for make coreset-eval: retrieval of a subset-trained run relative to the run on all data."""
import json, sys

root = sys.argv[1]
def load(name):
    return json.load(open(f"{root}/{name}/results.json"))
full = load("full")
print(f"{'run':<16} {'a2v R@10 A':>10} {'v2a R@10 A':>10} {'a2v avg A':>10} {'v2a avg A':>10} {'Rel. (%)':>9}")
for name in ["full", "train-coincide", "train-random"]:
    r = load(name)
    cells = [r["a2v"]["R@10"]["A"], r["v2a"]["R@10"]["A"], r["a2v"]["avg"]["A"], r["v2a"]["avg"]["A"]]
    base = [full["a2v"]["R@10"]["A"], full["v2a"]["R@10"]["A"], full["a2v"]["avg"]["A"], full["v2a"]["avg"]["A"]]
    rel = 100 * sum(c / b for c, b in zip(cells, base)) / len(cells)
    print(f"{name:<16} {cells[0]:>10.1f} {cells[1]:>10.1f} {cells[2]:>10.1f} {cells[3]:>10.1f} {rel:>9.1f}")
