"""serve.py: a finished run over HTTP (LitServe), its answers, its refusals, and the load client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
import torch
from benchmarks.serve_load import Server, free_port, healthy, serving

from headswap.jobs import serve
from headswap.jobs.export import export
from headswap.serving.api import MAX_BODY_BYTES, MAX_TEXTS, ClassifyAPI, Failed, prediction
from headswap.task import Task
from tests.conftest import ROOT, run_train_script

TEXTS = [
    "WINNER!! Claim your free prize now",
    "Hey Sam, are we still on for dinner tonight?",
    "URGENT: call now to claim your cash award",
    "ok",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("serve")
    overrides = ("data.source.n_per_class=100", "pretrain.epochs=1", "regime=full", "trainer.max_epochs=3")
    return run_train_script(tmp, *overrides)


def post(server: Server, body: bytes, content_type: str = "application/json") -> tuple[int, dict]:
    """Status and JSON answer of ``POST /predict``, error statuses included."""
    request = Request(f"http://127.0.0.1:{server.port}/predict", body, {"Content-Type": content_type})
    try:
        with urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except HTTPError as e:
        return e.code, json.loads(e.read())


def predict_script(run_dir: Path, texts: list[str]) -> list[dict]:
    cmd = [sys.executable, "scripts/predict.py", str(run_dir), *texts, "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def assert_answers_like_predict(server: Server, run_dir: Path) -> None:
    status, answer = post(server, json.dumps({"texts": TEXTS}).encode())
    assert status == 200
    expected = predict_script(run_dir, TEXTS)
    served = answer["predictions"]
    assert [p["label"] for p in served] == [e["label"] for e in expected]
    assert [p["probabilities"]["spam"] for p in served] == pytest.approx(
        [e["probability"] for e in expected], abs=1e-4
    )
    # each probability is rounded to 6 decimals, so N of them sum to 1 within N * 0.5e-6 (plus float32's)
    for p in served:
        n = len(p["probabilities"])
        assert p["threshold"] == 0.5 and sum(p["probabilities"].values()) == pytest.approx(1, abs=n * 1e-6)


TOO_MANY = json.dumps({"texts": ["a"] * (MAX_TEXTS + 1)}).encode()
TOO_LARGE = json.dumps({"texts": ["a" * MAX_BODY_BYTES]}).encode()
BAD_REQUESTS = {
    "not JSON": (b"texts: hello", 422, "body: JSON decode error"),
    "no texts": (b'{"text": ["hello"]}', 422, "texts: Field required"),
    "a non-string": (b'{"texts": ["hello", 3]}', 422, "texts.1: Input should be a valid string"),
    "an empty list": (b'{"texts": []}', 422, "texts: List should have at least 1 item"),
    "too many texts": (TOO_MANY, 422, "texts: List should have at most"),
    "not an object": (b'["hello"]', 422, "body: Input should be a valid dictionary"),
    "over 1 MB": (TOO_LARGE, 413, f"the body is over {MAX_BODY_BYTES} bytes"),
    "a lone surrogate": (b'{"texts": ["ok", "bad \\ud800 text"]}', 422, "texts: Value error, texts[1] holds"),
    "bytes not UTF-8": (b'{"texts": ["caf\xe9"]}', 422, "body: not UTF-8 JSON"),
}


@pytest.mark.slow
def test_server_answers_like_predict_refuses_bad_requests_and_stops(tiny_run: Path) -> None:
    with serving(tiny_run) as server:
        assert urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10).read() == b"ok"
        assert_answers_like_predict(server, tiny_run)
        for name, (body, status, reason) in BAD_REQUESTS.items():
            got_status, answer = post(server, body)
            assert (got_status, answer["detail"].startswith(reason)) == (status, True), (name, answer)
            assert "\n" not in answer["detail"] and "Traceback" not in answer["detail"], name
        # still serving after the refusals
        assert post(server, b'{"texts": ["hello"]}')[0] == 200
    assert server.process.returncode == 0  # SIGTERM: LitServe's graceful shutdown, not a kill


@pytest.mark.slow
def test_a_bad_request_costs_no_concurrent_request_its_answer(tiny_run: Path) -> None:
    """Eight good requests and a lone surrogate sent at once, batched together: the eight are answered
    as predict answers them, the bad one alone gets its 422."""
    good = json.dumps({"texts": TEXTS}).encode()
    bad = b'{"texts": ["bad \\ud800 surrogate"]}'
    expected = [e["label"] for e in predict_script(tiny_run, TEXTS)]
    with serving(tiny_run, "--max-batch-size=16", "--batch-timeout=0.05") as server:
        for _ in range(3):
            with ThreadPoolExecutor(max_workers=9) as pool:
                answers = list(pool.map(lambda body: post(server, body), [good] * 4 + [bad] + [good] * 4))
            assert answers[4][0] == 422 and "lone surrogate" in answers[4][1]["detail"]
            good_answers = answers[:4] + answers[5:]
            assert [status for status, _ in good_answers] == [200] * 8
            assert all([p["label"] for p in a["predictions"]] == expected for _, a in good_answers)


@pytest.mark.slow
def test_onnx_server_answers_like_predict(tiny_run: Path) -> None:
    export(tiny_run)
    with serving(tiny_run, "--onnx") as server:
        assert_answers_like_predict(server, tiny_run)
    assert server.process.returncode == 0


@pytest.mark.parametrize("onnx", [False, True])
def test_serve_names_what_the_run_folder_lacks_in_one_line(
    onnx: bool, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as exit:
        serve.main([str(tmp_path), *(["--onnx"] if onnx else [])])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "is not a finished run" in err  # with or without --onnx: the folder is checked first


class FakeRun:
    """Spam probability 0.9 for texts that shout, 0.3 otherwise; or three classes by length."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.task = Task(labels)

    def probabilities(self, texts: list[str]) -> torch.Tensor:
        if "boom" in texts:  # a text the model fails on, whatever batch it is in
            raise RuntimeError("a text the model cannot take")
        if len(self.labels) == 2:
            spam = torch.tensor([0.9 if t.isupper() else 0.3 for t in texts])
            return torch.stack([1 - spam, spam], dim=1)  # n x 2
        return torch.nn.functional.one_hot(torch.tensor([len(t) % 3 for t in texts]), 3).float()  # n x 3


@pytest.mark.parametrize("max_batch_size", [1, 4])
def test_batched_requests_are_split_back_in_order(max_batch_size: int) -> None:
    api = ClassifyAPI(
        "unused", onnx=False, tuned_threshold=False, max_batch_size=max_batch_size, batch_timeout=0
    )
    api.scorer, api.threshold = FakeRun(("ham", "spam")), 0.5
    requests = [["WIN", "hi"], ["ok"], ["FREE", "CASH", "no"]]
    if max_batch_size == 1:
        answers = [api.predict(texts) for texts in requests]
    else:
        answers = api.predict(requests)
    labels = [[p["label"] for p in answer] for answer in answers]
    assert labels == [["spam", "ham"], ["ham"], ["spam", "spam", "ham"]]
    assert answers[0][0]["probabilities"] == {"ham": pytest.approx(0.1), "spam": pytest.approx(0.9)}


def test_a_request_that_fails_in_its_batch_fails_alone(caplog: pytest.LogCaptureFixture) -> None:
    api = ClassifyAPI("unused", onnx=False, tuned_threshold=False, max_batch_size=4, batch_timeout=0)
    api.scorer, api.threshold = FakeRun(("ham", "spam")), 0.5
    requests = [["WIN", "hi"], ["boom"], ["ok"]]
    answers = api.predict(requests)
    assert [[p["label"] for p in a] for a in (answers[0], answers[2])] == [["spam", "ham"], ["ham"]]
    assert isinstance(answers[1], Failed) and "cannot take" not in answers[1].detail  # internals stay inside
    assert any(r.exc_info and "cannot take" in str(r.exc_info[1]) for r in caplog.records)  # in the log
    response = api.encode_response(answers[1])
    assert response.status_code == 500 and b"could not classify" in response.body
    assert api.encode_response(answers[0]) == {"predictions": answers[0]}


def test_binary_label_follows_the_threshold_and_n_classes_take_the_most_probable() -> None:
    assert prediction(Task(("ham", "spam")), [0.35, 0.65], 0.7)["label"] == "ham"
    # the positive class only strictly above the threshold, as predict decides
    assert prediction(Task(("ham", "spam")), [0.5, 0.5], 0.5)["label"] == "ham"
    assert prediction(Task(("ham", "spam")), [0.35, 0.65], 0.5) == {
        "label": "spam",
        "probabilities": {"ham": 0.35, "spam": 0.65},
        "threshold": 0.5,
    }
    answer = prediction(Task(("a", "b", "c")), [0.2, 0.5, 0.3], None)
    assert answer["label"] == "b" and answer["threshold"] is None


@pytest.mark.slow
def test_ctrl_c_stops_the_server_and_every_worker_without_a_traceback(tiny_run: Path) -> None:
    """Ctrl-C reaches every process of the terminal's group, the inference worker's too."""
    port = free_port()
    cmd = [sys.executable, "scripts/serve.py", str(tiny_run), "--port", str(port)]
    proc = subprocess.Popen(  # Ctrl-C as a terminal delivers it, even where pytest itself ignores it
        cmd,  # (started by `nohup ... &`: a background job inherits SIGINT ignored, and so would serve)
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not healthy(port):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.25)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err.decode()[-2000:]


def test_a_port_in_use_is_named_before_the_model_loads(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(SystemExit) as exit:
            serve.main([str(tmp_path / "not even a run"), "--port", str(port)])  # the port is checked first
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --port {port}: 127.0.0.1:{port} cannot be served") and err.count("\n") == 1
