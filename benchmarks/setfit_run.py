"""SetFit itself on one few-label sample, for docs/results.md's comparison: run it with the python of a
separate environment that has ``pip install -c constraints.txt setfit==1.2.0`` (never the project's).

setfit-env/bin/python benchmarks/setfit_run.py SAMPLE.csv TEST.csv MODEL_DIR SEED [POSITIVE]
    SAMPLE.csv and TEST.csv as benchmarks/fewshot_files.py writes them; MODEL_DIR the body's folder (the
    one headswap's body=minilm loads); POSITIVE the positive label of a two-class corpus (its F1,
    precision and recall are printed), else macro-F1. Prints one JSON line. SetFit 1.2's defaults but for
    batch_size 16 and one epoch (its paper's few-shot settings), 2 threads, as headswap's runs.
"""

import csv
import json
import sys
import time

import torch
from datasets import Dataset
from setfit import SetFitModel, Trainer, TrainingArguments
from sklearn.metrics import f1_score, precision_score, recall_score


def read(path: str) -> Dataset:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return Dataset.from_dict({"text": [r["text"] for r in rows], "label": [r["label"] for r in rows]})


def main(sample: str, test: str, model_dir: str, seed: int, positive: str | None) -> None:
    torch.set_num_threads(2)
    train, held_out = read(sample), read(test)
    model = SetFitModel.from_pretrained(model_dir)  # its logistic head fits the label strings as they are
    args = TrainingArguments(batch_size=16, num_iterations=20, num_epochs=1, seed=seed)
    trainer = Trainer(model=model, args=args, train_dataset=train)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    predicted = list(model.predict(held_out["text"], as_numpy=True))
    truth = held_out["label"]
    result: dict[str, object] = {"sample": sample, "seed": seed, "train_seconds": round(seconds, 1)}
    if positive is not None:
        kw = {"pos_label": positive, "average": "binary", "zero_division": 0}
        result |= {
            "f1": f1_score(truth, predicted, **kw),
            "precision": precision_score(truth, predicted, **kw),
            "recall": recall_score(truth, predicted, **kw),
        }
    else:
        result["macro_f1"] = f1_score(truth, predicted, average="macro")
    print(json.dumps(result))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], args[2], int(args[3]), args[4] if len(args) > 4 else None)
