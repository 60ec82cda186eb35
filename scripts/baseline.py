"""python scripts/baseline.py [data=...] -- classic TF-IDF baselines on the split that training uses
(`headswap baseline`)."""

from headswap.cli import baseline

if __name__ == "__main__":
    baseline()
