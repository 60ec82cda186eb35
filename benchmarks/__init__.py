"""The benchmarks behind BENCHMARKS.md, outside the library: ``python scripts/bench.py`` measures
(``measure``, ``serve_load``), writes the figures as JSON and renders them (``render``);
``python benchmarks/render.py BENCHMARKS.json`` renders them again without measuring."""
