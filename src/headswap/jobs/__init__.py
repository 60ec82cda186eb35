"""The jobs, one module each, called by the thin scripts in ``scripts/``.

The Hydra jobs (train, pretrain, demo, bench, baseline) each have ``run(cfg)``; the command-line jobs
(predict, export, compare) each have ``main(argv) -> exit code``. No job imports another.
"""
