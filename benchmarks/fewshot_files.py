"""The files behind docs/results.md's few-label tables, written by the project's own data module, so a
peer run outside the project (SetFit in its own environment) sees exactly the texts a headswap run sees.

python benchmarks/fewshot_files.py corpus sms|hwu OUT_DIR
    OUT_DIR/<c>_test.csv: the test part of the corpus's usual split (data=sms_spam_collection or
    data=hwu64), in its order; OUT_DIR/<c>_train.csv: every other row, in corpus order.
python benchmarks/fewshot_files.py sample sms|hwu K SEED OUT_DIR
    OUT_DIR/<c>_k<K>_s<SEED>.csv: the training part that ``headswap train data=csv
    data.path=OUT_DIR/<c>_train.csv data.test_path=OUT_DIR/<c>_test.csv data.train_per_class=K
    data.val_per_class=K seed=SEED`` trains on (composed with exactly those settings).
"""

import csv
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from headswap.app import resolvers, schema
from headswap.training.build import build_datamodule

CONF = Path(__file__).resolve().parents[1] / "src" / "headswap" / "conf"
CORPORA = {"sms": ["data=sms_spam_collection"], "hwu": ["data=hwu64"]}
FILE_SETTINGS = {"sms": ["data.positive_label=spam"], "hwu": []}


def write_rows(path: Path, rows: list[tuple[str, str]]) -> None:
    """A CSV with a ``text,label`` header: data=csv's default columns, and what SetFit's runner reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    print(f"{path}: {len(rows)} rows")


def corpus_files(corpus: str, out: Path) -> None:
    dm = build_datamodule(compose("train", overrides=CORPORA[corpus]))
    examples, names = dm.source.load(), dm.label_names
    test_keys = dm.parts["test"].keys.tolist()
    held_out = set(test_keys)
    rows = lambda keys: [(examples[k].text, names[examples[k].label]) for k in keys]  # noqa: E731
    write_rows(out / f"{corpus}_test.csv", rows(test_keys))
    write_rows(out / f"{corpus}_train.csv", rows([k for k in range(len(examples)) if k not in held_out]))


def sample_file(corpus: str, k: int, seed: int, out: Path) -> None:
    overrides = [
        "data=csv",
        f"data.path={out / f'{corpus}_train.csv'}",
        f"data.test_path={out / f'{corpus}_test.csv'}",
        *FILE_SETTINGS[corpus],
        "body=minilm",
        f"data.train_per_class={k}",
        f"data.val_per_class={k}",
        f"seed={seed}",
    ]
    dm = build_datamodule(compose("train", overrides=overrides))
    train = dm.parts["train"]
    names = dm.label_names
    write_rows(out / f"{corpus}_k{k}_s{seed}.csv", [(e.text, names[e.label]) for e in train.examples])


def main(argv: list[str]) -> None:
    schema.register()
    resolvers.register_resolvers()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        if argv[0] == "corpus":
            corpus_files(argv[1], Path(argv[2]).resolve())
        else:
            sample_file(argv[1], int(argv[2]), int(argv[3]), Path(argv[4]).resolve())


if __name__ == "__main__":
    main(sys.argv[1:])
