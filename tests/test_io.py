import json
import os
import stat
from pathlib import Path

import pytest
import torch

from headswap.io import atomic_write, load_state_dict, safe_load, save_state_dict, write_json
from headswap.model import BodyConfig, TransformerBody


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = write_json(tmp_path / "metrics.json", {"f1": 0.9})

    def crash(f) -> None:
        f.write(b'{"f1": 0.')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert json.loads(path.read_text()) == {"f1": 0.9}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_written_files_follow_the_umask_like_any_other_file(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        written = [
            write_json(tmp_path / "metrics.json", {"f1": 0.9}),
            save_state_dict(TransformerBody(BodyConfig()), tmp_path / "body.pt"),
        ]
    finally:
        os.umask(previous)
    assert [stat.S_IMODE(p.stat().st_mode) for p in written] == [0o666 & ~umask] * 2


def test_state_dict_round_trip(tmp_path: Path) -> None:
    a, b = TransformerBody(BodyConfig()), TransformerBody(BodyConfig())
    load_state_dict(b, save_state_dict(a, tmp_path / "body.pt"))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"checkpoint .*nope.pt does not exist"):
        load_state_dict(TransformerBody(BodyConfig()), tmp_path / "nope.pt")


def test_truncated_checkpoint_names_the_file(tmp_path: Path) -> None:
    path = save_state_dict(TransformerBody(BodyConfig()), tmp_path / "body.pt")
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError) as raised:
        load_state_dict(TransformerBody(BodyConfig()), path)
    assert str(raised.value).startswith(f"checkpoint {path} is truncated or damaged")
    assert "delete" not in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "name, content",
    [
        ("notes.txt", b"just some text\n"),
        ("random.ckpt", bytes(range(7, 256)) * 20),
        ("data.csv", b"text,label\nhello,ham\n"),
        ("config.yaml", b"seed: 0\nbody:\n  name: tiny\n"),
        ("metrics.json", b'{"format_version": 1, "labels": ["ham", "spam"]}\n'),
        ("empty.ckpt", b""),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_named_and_never_to_be_deleted(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """``ckpt_path=RUN/metrics.json`` and the like: one line naming the file, and the user's file is left
    alone (no advice to delete it)."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as raised:
        safe_load(path)
    assert str(raised.value) == (
        f"{path} is not a checkpoint (torch.save writes a zip archive; this file is not one): "
        "pass a .ckpt or .pt file that training wrote"
    )


@pytest.mark.parametrize("cut", [10, 200, 1000, -20])
def test_a_checkpoint_cut_anywhere_fails_in_one_line_naming_it(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "cut.ckpt"
    torch.save({"state_dict": TransformerBody(BodyConfig()).state_dict(), "epoch": 3}, path)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(ValueError) as raised:
        safe_load(path)
    assert str(raised.value).startswith(f"checkpoint {path} is truncated or damaged (")
    assert "\n" not in str(raised.value)


def test_mismatched_body_names_tensor_and_both_shapes(tmp_path: Path) -> None:
    path = save_state_dict(TransformerBody(BodyConfig(d_model=32)), tmp_path / "body.pt")
    with pytest.raises(
        ValueError, match=r"tensor 'embed.tok.weight' has shape \(260, 32\) in the file but \(260, 64\) here"
    ):
        load_state_dict(TransformerBody(BodyConfig()), path)


def test_deeper_body_reports_missing_tensors(tmp_path: Path) -> None:
    path = save_state_dict(TransformerBody(BodyConfig(n_layers=1)), tmp_path / "body.pt")
    with pytest.raises(ValueError, match=r"missing \['blocks.1"):
        load_state_dict(TransformerBody(BodyConfig()), path)


class Payload:
    def __reduce__(self):  # would run code when unpickled without weights_only
        return (print, ("pwned",))


def test_pickled_code_is_never_executed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"embed.tok.weight": Payload()}, path)
    with pytest.raises(ValueError, match="holds pickled objects other than tensors.*: refused"):
        load_state_dict(TransformerBody(BodyConfig()), path)
    assert "pwned" not in capsys.readouterr().out
