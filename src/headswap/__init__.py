"""headswap: replace a pretrained language model's head with a classifier, fine-tune under a regime,
and report what each regime scores and costs.

Layers, each importing only those below it:
  headswap.model, headswap.data, headswap.io, headswap.report -- plain PyTorch / Python
  headswap.lit  -- Lightning wrappers (data module, classifier, pre-training, callbacks)
  headswap.jobs -- the Hydra edge: one ``run(cfg)`` per job
"""

__version__ = "0.1.0"
