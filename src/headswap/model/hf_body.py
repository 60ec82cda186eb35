"""A pretrained Hugging Face encoder as a headswap body, from a local directory or, by id, the hub's cache.

``HFBody`` gives the encoder the body interface the rest of the project uses: ``(input_ids,
attention_mask) -> B x T x D``, ``d_model`` and ``parts()`` named like the tiny body's (``embed``,
``blocks.0`` ... ``blocks.N-1``, ``norm``), so every pool and regime applies unchanged. ``HFTokenizer``
gives the model's own tokenizer the data module's ``Tokenizer`` interface. ``transformers`` is the
optional ``hf`` extra and is imported only when an HF body is asked for.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from headswap.errors import ConfigError, MissingExtra, ModelPathError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
INSTALL_HINT = 'pip install -e ".[hf]"'


def model_dir(path: str | Path | None) -> Path:
    """``path`` if it holds a model's config and weights, a local directory first, else a Hugging Face hub
    id (``org/name`` or ``org/name@revision``) through the hub's own cache; one line naming the path and
    the fix if neither."""
    if path is None or str(path) in ("", "???"):
        raise ConfigError(
            "body.path is not set: pass a local model directory or a hub id, e.g. body.path=/models/bert",
            key="body.path",
        )
    directory = hub_snapshot(str(path)) if is_hub_id(path) else Path(path).expanduser()
    if not (directory / "config.json").is_file():
        fix = "pass a local Hugging Face model directory (one that save_pretrained wrote)"
        raise ModelPathError(str(path), "no config.json there", fix)
    if not any((directory / name).is_file() for name in WEIGHT_FILES):
        fix = "copy the model's weight file into it"
        raise ModelPathError(str(path), f"no weights there ({' or '.join(WEIGHT_FILES)})", fix)
    return directory


HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?(@[\w.-]+)?")  # bert-base-uncased, org/name@revision
HUB_FILES = ["*.json", "*.txt", "*.model", "model.safetensors"]  # config, tokenizer and weights only


def is_hub_id(path: str | Path) -> bool:
    """A hub id, not a local path: no such file or folder here, and shaped as ``org/name[@revision]``."""
    return not Path(path).expanduser().exists() and HUB_ID.fullmatch(str(path)) is not None


def hub_snapshot(spec: str) -> Path:
    """The local snapshot of hub model ``spec`` (``id`` or ``id@revision``), downloaded into Hugging Face's
    cache where the hub is reachable; with ``HF_HUB_OFFLINE=1`` or no network, the cached one. Its folder
    is named by the commit it holds (``hub_revision``)."""
    repo_id, _, revision = spec.partition("@")
    hub = _hub()
    try:
        folder = Path(hub.snapshot_download(repo_id, revision=revision or None, allow_patterns=HUB_FILES))
        if not (folder / "model.safetensors").is_file():  # an older repository: PyTorch's own format
            hub.hf_hub_download(repo_id, "pytorch_model.bin", revision=folder.name)
    except hub.errors.LocalEntryNotFoundError:
        fix = f"download it where there is a network (hf download {repo_id}) or pass a local directory"
        raise ModelPathError(
            spec, "no such local directory, and not in the Hugging Face cache (offline)", fix
        ) from None
    except (hub.errors.RepositoryNotFoundError, hub.errors.RevisionNotFoundError) as e:
        what = "revision" if isinstance(e, hub.errors.RevisionNotFoundError) else "model"
        fix = "check the id (https://huggingface.co/models) or pass a local directory"
        raise ModelPathError(
            spec, f"no such local directory, and no such {what} on the Hugging Face hub", fix
        ) from None
    return folder


def hub_revision(path: str | Path) -> str | None:
    """``path``'s hub commit (``id@commit``) where it names a hub model, else None (a local directory)."""
    return f"{str(path).partition('@')[0]}@{hub_snapshot(str(path)).name}" if is_hub_id(path) else None


def _hub() -> Any:
    try:
        import huggingface_hub
        import huggingface_hub.errors
    except ModuleNotFoundError:
        raise MissingExtra(f"a hub id as body.path needs huggingface_hub: {INSTALL_HINT}") from None
    return huggingface_hub


def package_model_dir(package: str, subdir: str = "model") -> str:
    """The model directory shipped inside an installed Python package (``body=minilm``'s wheel). A
    top-level name only: finding ``a.b`` would import ``a``, and a run's config names this package."""
    if not package.isidentifier():
        raise ConfigError(f"package_model_dir: {package!r} is not a top-level package name")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra(f"the model package {package} is not installed: {INSTALL_HINT}")
    return str(Path(next(iter(spec.submodule_search_locations))) / subdir)


def encoder_config(path: str | Path) -> dict[str, Any]:
    """The model's ``config.json``, or one line refusing a model that is not an encoder (GPT-2 and other
    decoders let each token see only those before it, which no pool here expects)."""
    config: dict[str, Any] = json.loads((model_dir(path) / "config.json").read_text())
    model_type = config.get("model_type", "?")
    auto = _transformers().models.auto.modeling_auto
    if config.get("is_decoder") or (
        model_type in auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    ):
        raise ConfigError(
            f"body.path={path}: {model_type} is a decoder: body=hf takes encoders only "
            "(BERT, RoBERTa, DistilBERT, MiniLM, ...)"
        )
    return config


@dataclass(frozen=True)
class HFOutline:
    """What the config checks need of an HF body, read from ``config.json`` without loading weights."""

    n_layers: int
    max_len: int
    vocab_size: int
    causal: bool = False

    def parts(self) -> dict[str, None]:
        """``HFBody.parts()``'s names: what a regime may choose."""
        return dict.fromkeys(["embed", *(f"blocks.{i}" for i in range(self.n_layers)), "norm"])


def hf_outline(path: str | Path) -> HFOutline:
    """The body's outline, from the model's ``config.json`` alone."""
    config = encoder_config(path)
    return HFOutline(
        n_layers=int(config.get("num_hidden_layers", config.get("n_layers", 0))),
        max_len=int(config.get("max_position_embeddings", 512)),
        vocab_size=int(config.get("vocab_size", 0)),
    )


def hidden_size(path: str | Path) -> int:
    """The encoder's hidden size from its ``config.json``, for configs that size the pool before loading."""
    config = encoder_config(path)
    for key in ("hidden_size", "d_model", "dim"):
        if key in config:
            return int(config[key])
    raise ConfigError(f"body.path={path}: config.json names no hidden size (hidden_size, d_model or dim)")


def _transformers() -> Any:
    try:
        import transformers
    except ModuleNotFoundError:
        raise MissingExtra(f"body=hf needs transformers: {INSTALL_HINT}") from None
    transformers.utils.logging.set_verbosity_error()  # its load report lists the LM weights we leave out
    transformers.utils.logging.disable_progress_bar()
    return transformers


def from_pretrained(auto: str, directory: str) -> Any:
    """``transformers.<auto>.from_pretrained`` on a local directory, never running code it holds: a model
    folder may have come with someone's run folder. What it cannot load ends in one line naming it."""
    try:
        return getattr(_transformers(), auto).from_pretrained(
            directory, local_files_only=True, trust_remote_code=False
        )
    except (ValueError, OSError) as e:
        problem = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"body.path={directory}: {auto} cannot load it ({problem})", key="body.path"
        ) from None


class HFTokenizer:
    """A model's own tokenizer (``AutoTokenizer``) with the interface of ``ByteTokenizer``.

    ``encode`` adds the model's special tokens (``[CLS] ... [SEP]`` for BERT) and truncates to
    ``max_len`` keeping the final special token, as the model saw texts in pre-training.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(model_dir(path))
        self._tokenizer = from_pretrained("AutoTokenizer", self.path)
        if self._tokenizer.pad_token_id is None:
            raise ConfigError(f"body.path={path}: the tokenizer has no padding token; choose another model")
        self.pad_id: int = self._tokenizer.pad_token_id
        vocab_size = int(encoder_config(self.path).get("vocab_size", len(self._tokenizer)))
        if len(self._tokenizer) > vocab_size:
            raise ConfigError(
                f"body.path={path}: the tokenizer has {len(self._tokenizer)} ids but the encoder's "
                f"vocabulary holds {vocab_size}: put the model's own tokenizer files beside it"
            )

    def encode(self, text: str, max_len: int) -> list[int]:
        return self._tokenizer(text, truncation=True, max_length=max_len)["input_ids"]

    def is_truncated(self, text: str, max_len: int) -> bool:
        return len(self._tokenizer(text)["input_ids"]) > max_len

    def save(self, directory: str | Path) -> None:
        """The tokenizer's files, as ``AutoTokenizer.from_pretrained`` reads them (for serving)."""
        self._tokenizer.save_pretrained(str(directory))


class HFBody(nn.Module):
    """A Hugging Face encoder (``AutoModel``) as a body: token ids and mask -> last hidden states B x T x D.

    Parts: ``embed`` (the embeddings), ``blocks.i`` (the encoder's layers) and ``norm`` (whatever has
    weights after the last layer: empty for post-norm encoders such as BERT, whose last layer ends in
    its own LayerNorm). Every weight belongs to exactly one part, so a regime decides all of them.
    ``from_pretrained`` returns eval mode; the training loop sets each part's mode from what trains.
    """

    causal = False  # an encoder attends both ways: pool=cls reads a token that has seen the whole text

    def __init__(self, encoder: nn.Module, name: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.name = name
        self._layers_name = _find_layers(encoder, name)
        self.train(encoder.training)  # the encoder's mode (eval, from from_pretrained), not a new module's

    @property
    def d_model(self) -> int:
        return int(self.encoder.config.hidden_size)

    @property
    def max_len(self) -> int:
        """The longest sequence the position table holds."""
        return int(getattr(self.encoder.config, "max_position_embeddings", 512))

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    @property
    def splits(self) -> bool:
        """Whether ``hidden_before`` and ``hidden_from`` rebuild ``forward``: only when nothing with
        weights follows the last layer (BERT-style post-norm encoders), whose use the code cannot know."""
        return next(self.parts()["norm"].parameters(), None) is None

    def hidden_before(self, input_ids: Tensor, attention_mask: Tensor, block: int) -> Tensor:
        """Hidden states B x T x D entering layer ``block``, computed by the encoder's own forward."""
        args, _ = self._layer_inputs(block, input_ids=input_ids, attention_mask=attention_mask)
        return args[0]  # B x T x D

    def hidden_from(self, hidden: Tensor, attention_mask: Tensor, block: int) -> Tensor:
        """The last hidden states B x T x D from ``hidden_before(..., block)``'s output. The layers' own
        arguments (the attention mask in the form this model builds it) come from running the encoder
        up to its first layer, on the embeddings alone: a small cost beside a layer's."""
        with torch.no_grad():
            args, kwargs = self._layer_inputs(0, inputs_embeds=hidden, attention_mask=attention_mask)
        for layer in self.encoder.get_submodule(self._layers_name)[block:]:
            out = layer(hidden, *args[1:], **kwargs)
            hidden = out[0] if isinstance(out, tuple) else out  # older transformers return tuples
        return hidden

    def _layer_inputs(self, block: int, **inputs: Tensor) -> tuple[tuple, dict]:
        """The positional and keyword arguments the encoder passes to layer ``block``; stops it there."""
        layer = self.encoder.get_submodule(self._layers_name)[block]

        def stop(module: nn.Module, args: tuple, kwargs: dict) -> None:
            raise _LayerInputs(args, kwargs)

        handle = layer.register_forward_pre_hook(stop, with_kwargs=True)
        try:
            self.encoder(**inputs)
        except _LayerInputs as captured:
            return captured.args  # (args, kwargs)
        finally:
            handle.remove()
        raise RuntimeError(f"body {self.name}: layer {block} never ran")

    def parts(self) -> dict[str, nn.Module]:
        """The body's named parts in input-to-output order; regimes choose among these names."""
        layers = self.encoder.get_submodule(self._layers_name)
        inside = ("embeddings.", self._layers_name + ".")
        after = [
            module
            for name, module in self.encoder.named_modules()
            if name and not (name + ".").startswith(inside) and any(module.parameters(recurse=False))
        ]
        return {
            "embed": self.encoder.embeddings,
            **{f"blocks.{i}": layer for i, layer in enumerate(layers)},
            "norm": nn.ModuleList(after),  # built per call, not registered: the weights stay the encoder's
        }


def _find_layers(encoder: nn.Module, name: str) -> str:
    """Where the list of layers is, by structure rather than by model family (beside ``embeddings``)."""
    n_layers = getattr(encoder.config, "num_hidden_layers", None)
    lists = [n for n, m in encoder.named_modules() if isinstance(m, nn.ModuleList) and len(m) == n_layers]
    if not hasattr(encoder, "embeddings") or not lists:
        raise ConfigError(
            f"body {name}: found no embeddings and list of {n_layers} layers in {type(encoder).__name__}; "
            "body=hf supports encoders such as BERT, RoBERTa, DistilBERT and MiniLM"
        )
    return lists[0]


def load_hf_body(path: str | Path, name: str | None = None, d_model: int | None = None) -> HFBody:
    """``AutoModel.from_pretrained(path)`` offline, without a pooler (the pool and head replace it).

    ``d_model`` is the hidden size the config sized the pool for; it must match the model's.
    """
    directory = model_dir(path)
    encoder = from_pretrained("AutoModel", str(directory))
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None  # BERT's tanh pooler feeds its own next-sentence head, not ours
    body = HFBody(encoder, name or display_name(path))
    if d_model is not None and d_model != body.d_model:
        raise ConfigError(
            f"body.model.d_model={d_model} but the model at {path} has hidden size {body.d_model}: "
            "leave body.model.d_model unset"
        )
    return body


def display_name(path: str | Path) -> str:
    """What a body is called when ``body.name`` is not set: a directory's name, or a hub id's last part
    (``sentence-transformers/all-MiniLM-L6-v2@abc`` -> ``all-MiniLM-L6-v2``)."""
    if not is_hub_id(path):
        return Path(path).expanduser().name
    return str(path).partition("@")[0].rsplit("/", 1)[-1]


class _LayerInputs(Exception):
    """Carries a layer's inputs (``args``: its positional and keyword arguments) out of the encoder's
    forward, which then stops."""
