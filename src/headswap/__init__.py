"""headswap: replace a pretrained language model's head with a classifier, fine-tune under a regime,
and report what each regime scores and costs.

Layers, each importing only those below it:
  headswap.model, headswap.data, headswap.io, headswap.report -- plain PyTorch / Python
  headswap.lit  -- Lightning wrappers (data module, classifier, pre-training, callbacks)
  headswap.app, then headswap.training and headswap.sweeps -- the Hydra edge: the shell, recipe, sweeps
  headswap.jobs -- the entry points, one module a job, called by ``scripts/``
"""

__version__ = "0.1.0"
