"""A bounded load run against ``scripts/serve.py`` on 127.0.0.1: concurrent clients, latency percentiles.

Also what the serving tests start a server with (``serving``).

Each client is a thread with one keep-alive connection that sends its requests one after another, so
``clients`` requests are in flight at once: what LitServe's batching can group. A request counts as
answered only with status 200 and one prediction per text; anything else is an error, counted.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

import numpy as np

HOST = "127.0.0.1"
SERVE_MODULE = "headswap.jobs.serve"  # what scripts/serve.py runs, found wherever the package is installed
# Short and long, ham-like and spam-like: a batch pads to its longest text, as real traffic would.
TEXTS = (
    "are we still on for lunch tomorrow?",
    "WINNER!! You have been selected for a 1000 cash prize. Call 09061701461 now to claim, T&C apply.",
    "ok see you at 7",
    "Free entry in 2 a weekly competition to win FA Cup final tickets. Text FA to 87121 to receive entry.",
    "Sorry, I'll call you later, I'm in a meeting right now and can't talk until about six this evening.",
    "URGENT! Your mobile number has won a prize. Reply YES to claim.",
    "haha that's so funny",
    "Did you get the notes from today's lecture? I missed the second half because my bus was late again.",
)


@dataclass(frozen=True)
class Timed:
    seconds: float  # one request's latency, answered or not
    answered: bool


def summarize(results: Sequence[Timed], wall_seconds: float, texts_per_request: int) -> dict[str, float]:
    """Throughput over the whole run and latency percentiles over the answered requests."""
    answered = [r.seconds for r in results if r.answered]
    latencies_ms = np.array(answered) * 1e3 if answered else np.array([np.nan])
    return {
        "requests": len(results),
        "answered": len(answered),
        "errors": len(results) - len(answered),
        "seconds": wall_seconds,
        "requests_per_s": len(answered) / wall_seconds,
        "texts_per_s": len(answered) * texts_per_request / wall_seconds,
        "p50_ms": float(np.percentile(latencies_ms, 50)),
        "p95_ms": float(np.percentile(latencies_ms, 95)),
    }


def client(port: int, first: int, requests: int, texts_per_request: int, timeout: float) -> list[Timed]:
    """One client's requests, sent one after another on a keep-alive connection."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    results = []
    for i in range(requests):
        texts = [TEXTS[(first + i + k) % len(TEXTS)] for k in range(texts_per_request)]
        start = time.perf_counter()
        try:
            connection.request(
                "POST", "/predict", json.dumps({"texts": texts}), {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            body = response.read()
            answered = response.status == 200 and len(json.loads(body)["predictions"]) == len(texts)
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            connection.close()  # reconnects on the next request
            answered = False
        results.append(Timed(time.perf_counter() - start, answered))
    connection.close()
    return results


def load(
    port: int, clients: int, requests: int, texts_per_request: int, timeout: float = 60.0
) -> dict[str, float]:
    """``clients`` concurrent clients x ``requests`` requests of ``texts_per_request`` texts, summarized."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [
            pool.submit(client, port, c * requests, requests, texts_per_request, timeout)
            for c in range(clients)
        ]
        results = [r for f in futures for r in f.result()]
    return summarize(results, time.perf_counter() - start, texts_per_request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urlopen(f"http://{HOST}:{port}/health", timeout=2) as response:
            return response.status == 200
    except (URLError, OSError):
        return False


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen


@contextmanager
def serving(run_dir: str | Path, *options: str, startup_seconds: float = 300.0) -> Iterator[Server]:
    """``scripts/serve.py RUN_DIR`` on a free port of 127.0.0.1, healthy; then stopped as a service
    manager would (SIGTERM, a bounded wait, SIGKILL only if it hangs). Its stderr goes to a file, which
    a full pipe could not block."""
    port = free_port()
    cmd = [sys.executable, "-m", SERVE_MODULE, str(run_dir), "--host", HOST, "--port", str(port), *options]
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        try:
            deadline = time.monotonic() + startup_seconds
            while not healthy(port):
                if proc.poll() is not None:
                    stderr.seek(0)
                    raise RuntimeError(f"serve.py exited with {proc.returncode}: {stderr.read()[-2000:]}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"serve.py not healthy on port {port} within {startup_seconds:.0f} s")
                time.sleep(0.25)
            yield Server(port, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
