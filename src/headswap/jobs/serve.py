"""Serve a finished run over HTTP: ``POST /predict`` with ``{"texts": [...]}``, ``GET /health``.

Concurrent requests are batched (LitServe's ``max_batch_size`` / ``batch_timeout``). Binds 127.0.0.1
unless ``--host`` says otherwise. Example:

  curl -s 127.0.0.1:8000/predict -H 'Content-Type: application/json' -d '{"texts": ["WIN a prize now"]}'
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Sequence
from types import FrameType

from headswap.app import threads
from headswap.app.one_line import one_line_errors
from headswap.errors import ConfigError
from headswap.serving.api import ClassifyAPI, build_server
from headswap.training.finished_run import load_run, unpacked


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager, a test) as Ctrl-C, on which LitServe stops its workers before exiting.

    LitServe's processes are forked and inherit the handler; in them SIGTERM just ends the process.
    """
    main_pid = os.getpid()

    def stop(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == main_pid:
            raise KeyboardInterrupt
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` as the server will (``SO_REUSEADDR``, as uvicorn), or one line naming it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise ConfigError(
                f"--port {port}: {host}:{port} cannot be served ({e.strerror or e}): stop what holds it, "
                "or pass another --port",
                key="--port",
            ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python scripts/serve.py --help``."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", help="a run folder that train wrote (logs/train/runs/<time>), or a bundle")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    parser.add_argument("--onnx", action="store_true", help="serve RUN_DIR/export (scripts/export.py)")
    parser.add_argument("--tuned-threshold", action="store_true", help="binary runs: validation-F1 threshold")
    parser.add_argument("--max-batch-size", type=int, default=16, help="requests per forward pass; 1: off")
    parser.add_argument("--batch-timeout", type=float, default=0.01, help="seconds to wait to fill a batch")
    parser.add_argument("--threads", type=int, help="torch threads (default: CPUs other work leaves free)")
    args = parser.parse_args(argv)
    with one_line_errors():
        if not 0 < args.port < 65536:
            raise ConfigError(f"--port {args.port} is not a port: pass 1 to 65535")
        check_port_free(args.host, args.port)  # before minutes of model loading, not after
        if args.max_batch_size < 1 or args.batch_timeout < 0 or (args.threads or 1) < 1:
            raise ConfigError("--max-batch-size and --threads must be >= 1 and --batch-timeout >= 0")
        n_threads = threads.choose(args.threads).threads  # before this process gets busy loading
        run_dir = unpacked(args.run_dir)  # a packed bundle once, here; the worker reads the folder
        # Loaded once here so a bad run folder ends in one line; the worker process loads its own copy.
        load_run(run_dir, args.onnx).threshold(args.tuned_threshold)
        api = ClassifyAPI(
            run_dir, args.onnx, args.tuned_threshold, args.max_batch_size, args.batch_timeout, n_threads
        )
    stop_on_sigterm()
    build_server(api).run(
        host=args.host, port=args.port, generate_client_file=False, num_api_servers=1, log_level="warning"
    )
    return 0


if __name__ == "__main__":  # python -m headswap.jobs.serve, as the load run starts it
    sys.exit(main())
