"""Names of run and sweep job folders: unique whatever the clock says, flat whatever the overrides hold.

A run or sweep folder is named by the second and the process id (``${pid:}``), so two runs (or two
``-m`` sweeps) started in the same second never share one and write into each other's logs, checkpoints
and comparisons. A sweep job folder is
``regime=head,seed=0`` where the overrides are plain.

Hydra names a job folder by ``hydra.job.override_dirname``, so ``data.path=/data/comments.csv`` would
nest the folder three levels deep. ``${job_dir_name:...}`` (used by ``conf/hydra/default.yaml``) keeps a
plain name as it is; any other character run becomes ``_``, a long name is cut, the job number leads
and a digest of the whole override string ends the name: two jobs whose values differ only in such
characters or past the cut get folders of their own, in one sweep and across sweeps run into one folder.
"""

from __future__ import annotations

import hashlib
import os
import re

from omegaconf import OmegaConf

UNSAFE = re.compile(r"[^\w.,=+~@-]+", re.ASCII)  # ASCII: 120 characters stay 120 bytes
MAX_LENGTH = 120  # leaves room for the sweep folder's path in a 255-byte file name


def job_dir_name(override_dirname: str, job_num: int | str) -> str:
    """``override_dirname`` if it is a safe, flat folder name; else
    ``<job_num>_<sanitised name, cut>_<digest of override_dirname>``."""
    safe = UNSAFE.sub("_", override_dirname).strip("_")
    if safe == override_dirname and len(safe) <= MAX_LENGTH:
        return safe
    digest = hashlib.sha1(override_dirname.encode()).hexdigest()[:8]
    return f"{job_num}_{safe[:MAX_LENGTH].rstrip('_')}_{digest}"


def register_resolvers() -> None:
    """``${job_dir_name:...}`` and ``${pid:}``, which ``conf/hydra/default.yaml`` names folders with."""
    OmegaConf.register_new_resolver("job_dir_name", job_dir_name, replace=True)
    # cached in the config, as Hydra's ``${now:}`` is: a sweep's jobs in joblib workers (other processes)
    # receive the config with the launching process's id and find the sweep folder it made
    OmegaConf.register_new_resolver("pid", os.getpid, replace=True, use_cache=True)
