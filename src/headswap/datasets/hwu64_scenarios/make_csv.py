#!/usr/bin/env python3
"""Regenerate hwu64_scenarios.csv from a clone of xliuhw/NLU-Evaluation-Data.

Usage:  python make_csv.py /path/to/NLU-Evaluation-Data [out.csv]
        (works on a normal clone or a bare git dir; reads files via `git show`)

Derivation:
  1. Read the 10 cross-validation *test* folds
     CrossValidation/autoGeneFromRealAnno/autoGene_2018_03_22-13_01_25_169/
       CrossValidation/KFold_{1..10}/testset/csv/<intent>.csv
     (semicolon-delimited; the 10 test folds are disjoint and together form the
     whole labelled HWU64 evaluation set, 11,036 rows).
  2. text  = column `answer_from_anno` (the annotated utterance with entity
     brackets removed), whitespace-collapsed and stripped.
     label = column `scenario` (18 scenarios).
  3. Drop empty texts; deduplicate exact texts; a text seen under more than
     one scenario is dropped entirely (ambiguous).
  4. Per scenario keep at most CAP=300 texts: those with the smallest
     SHA-1(text UTF-8) hex digest (deterministic, order-independent).
  5. Write rows sorted by (label, sha1) as UTF-8 CSV, RFC 4180 quoting, header
     `text,label`, "\n" line endings.
"""

import collections
import csv
import hashlib
import io
import subprocess
import sys

COMMIT = "f6071b496b17d71e6eb43f543af0707f4ff30557"
BASE = "CrossValidation/autoGeneFromRealAnno/autoGene_2018_03_22-13_01_25_169/CrossValidation"
CAP = 300


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True).stdout.decode("utf-8")


def main():
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "hwu64_scenarios.csv"
    names = git(repo, "ls-tree", "-r", "--name-only", COMMIT, BASE).split("\n")
    files = sorted(n for n in names if "/testset/csv/" in n and n.endswith(".csv"))
    assert len(files) == 640, len(files)  # 10 folds x 64 intents

    labels = collections.defaultdict(set)
    for f in files:
        text = git(repo, "show", f"{COMMIT}:{f}")
        for row in csv.DictReader(io.StringIO(text), delimiter=";"):
            t = " ".join(row["answer_from_anno"].split())
            if t:
                labels[t].add(row["scenario"].strip())

    by_label = collections.defaultdict(list)
    for t, ls in labels.items():
        if len(ls) == 1:
            by_label[next(iter(ls))].append(t)

    rows = []
    for lab in sorted(by_label):
        keyed = sorted((hashlib.sha1(t.encode("utf-8")).hexdigest(), t) for t in by_label[lab])
        rows += [(t, lab) for _, t in keyed[:CAP]]

    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["text", "label"])
        w.writerows(rows)
    print(f"wrote {len(rows)} rows, {len(by_label)} labels to {out}")


if __name__ == "__main__":
    main()
