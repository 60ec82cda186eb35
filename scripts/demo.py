"""python scripts/demo.py -- pre-train once, fine-tune head-only and full, compare them (`headswap demo`)."""

from headswap.cli import demo

if __name__ == "__main__":
    demo()
