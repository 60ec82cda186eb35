"""What a full MiniLM epoch costs in the project's path and in a hand loop doing the same work.

python benchmarks/full_epoch_gap.py [ROOT_DIR]  (bench.py's pretrained section settings: SMS, 256 training
texts, batch 32, max_len 128, 2 threads; ROOT_DIR holds the body cache, default: the checkout). Prints
the project's (wall, CPU) per epoch, then a hand loop over the same length-grouped batches with bf16
autocast and in fp32, each split into forward, backward and optimizer step. Quoted in docs/results.md.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: benchmarks/ as a package

import torch
import torch.nn.functional as F
from hydra import initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from benchmarks.loops import bare_trainer, lightning_epochs
from benchmarks.measure import keep_first, section_config
from headswap.app import schema
from headswap.training.bodies import pretrained_body
from headswap.training.build import build_datamodule

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "src" / "headswap" / "conf"
schema.register()
root_dir = sys.argv[1] if len(sys.argv) > 1 else str(ROOT)
section = OmegaConf.create(
    {
        "overrides": ["experiment=sms_full", "body=minilm", f"paths.root_dir={root_dir}"],
        "rows": 256,
        "epochs": 2,
        "batch_size": 32,
        "max_len": 128,
        "threads": 2,
    }
)
torch.set_num_threads(section.threads)
with initialize_config_dir(str(CONF), version_base="1.3"):
    cfg = section_config("full", section, torch.device("cpu"))
    with open_dict(cfg):
        cfg.trainer.precision = cfg.trainer.precision  # resolved once, as a run would
    dm = keep_first(build_datamodule(cfg), section.rows)
    project = instantiate(cfg.model, body=pretrained_body(cfg, dm)[0])
    trainer = bare_trainer(
        torch.device("cpu"), max_epochs=2, precision=cfg.trainer.precision, limit_val_batches=0
    )
    fit = lambda t: t.fit(project, train_dataloaders=dm.train_dataloader())  # noqa: E731
    print("project (wall, CPU) per epoch:", lightning_epochs(project, fit, trainer))
    for bf16 in (True, False):
        model = instantiate(cfg.model, body=pretrained_body(cfg, dm)[0], cache_features=False)
        net, optimizer = model.classifier, model.build_optimizer()
        for epoch in range(2):
            net.set_train_modes()
            spent = {"forward": 0.0, "backward": 0.0, "step": 0.0}
            start = time.perf_counter()
            for batch in dm.train_dataloader():
                a = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    loss = F.cross_entropy(net(batch["input_ids"], batch["attention_mask"]), batch["labels"])
                b = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                c = time.perf_counter()
                optimizer.step()
                spent["forward"] += b - a
                spent["backward"] += c - b
                spent["step"] += time.perf_counter() - c
            wall = time.perf_counter() - start
            print(
                f"hand loop {'bf16' if bf16 else 'fp32'} epoch {epoch}: {wall:.2f} s",
                {k: round(v, 2) for k, v in spent.items()},
            )
