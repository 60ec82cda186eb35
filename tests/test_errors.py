"""User errors end a command in one line; a bug, even a ValueError from a library, keeps its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import DictConfig

from headswap.app.launch import run_job
from headswap.app.one_line import one_line_errors
from headswap.errors import ConfigError, DataError, MissingExtra, MissingFile, ModelPathError, UserError
from headswap.jobs import predict
from headswap.model.hf_body import model_dir


@pytest.fixture(autouse=True)
def _outside_hydra(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a script's job before Hydra's config is set: another test may have left one behind."""
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)


def raising(error: BaseException):
    def run(cfg: DictConfig) -> None:
        raise error

    return run


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("data.batch_size=0 must be >= 1", key="data.batch_size"),
        DataError("comments.csv: line 3: empty text; remove the row"),
        MissingFile("checkpoint x.ckpt does not exist: check the path"),
        MissingExtra('regime=lora needs peft: pip install -e ".[lora]"'),
        PermissionError(13, "Permission denied"),  # the operating system's: the user fixes it
    ],
)
def test_a_user_error_ends_in_one_line_with_exit_2(error: Exception, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit:
        run_job(raising(error), DictConfig({}))
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(error) in err


@pytest.mark.parametrize(
    "error", [ValueError("bug in torch"), TypeError("bug"), KeyError("bug"), ImportError("x")]
)
def test_a_bug_keeps_its_traceback(error: Exception) -> None:
    with pytest.raises(type(error)):
        run_job(raising(error), DictConfig({}))
    with pytest.raises(type(error)), one_line_errors():
        raise error


def test_hydras_wrapper_is_unwrapped_to_the_users_error(capsys: pytest.CaptureFixture) -> None:
    wrapped = InstantiationException("Error in call to target")
    wrapped.__cause__ = ConfigError("regime.head_lr=-1.0 must be > 0", key="regime.head_lr")
    with pytest.raises(SystemExit) as exit:
        run_job(raising(wrapped), DictConfig({}))
    assert exit.value.code == 2 and "regime.head_lr=-1.0" in capsys.readouterr().err


def test_user_errors_are_the_builtin_errors_they_refine() -> None:
    assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)
    assert issubclass(MissingFile, FileNotFoundError) and issubclass(MissingExtra, ModuleNotFoundError)
    assert ConfigError("x", key="data.max_len").key == "data.max_len"


def test_a_model_folder_error_carries_the_path_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ModelPathError) as err:
        model_dir(tmp_path)
    assert err.value.path == str(tmp_path) and err.value.problem == "no config.json there"
    assert err.value.key == "body.path" and isinstance(err.value, UserError)


def test_predict_keeps_a_bugs_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*args: object) -> None:
        raise ValueError("a bug inside the model code")

    monkeypatch.setattr(predict, "load_run", broken)
    with pytest.raises(ValueError, match="a bug inside"):
        predict.main([str(tmp_path), "hello"])
