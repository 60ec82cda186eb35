"""python scripts/pretrain.py [force=true] -- pre-train the body that scripts/train.py starts from
(`headswap pretrain`)."""

from headswap.cli import pretrain

if __name__ == "__main__":
    pretrain()
