"""python scripts/train.py regime=head -- the same job as `headswap train regime=head`; returns the monitored
validation figure (F1; macro-F1 for more than two classes) for Hydra sweepers to optimise."""

from headswap.cli import train

if __name__ == "__main__":
    train()
