"""Training checkpoints: one safetensors file, written atomically, no pickle.

Layout of ``checkpoint.safetensors``:

- tensors: ``model.<name>`` (weights and buffers), ``best.<name>`` (best weights so far, if
  any), ``ema.<name>`` (the moving average of the weights, with ``ema_decay``),
  ``optimizer.<param index>.<key>`` (optimizer state tensors), ``rng.torch`` and
  ``rng.cuda.<device>`` (torch generator states as uint8 tensors);
- metadata ``lstmkit_checkpoint``: a JSON object with ``format_version``, ``epoch`` (epochs
  completed), ``global_step``, ``history``, early-stopping counters, the optimizer's
  ``param_groups`` and non-tensor state, the scheduler ``state_dict``, NumPy and Python RNG
  states and the `TrainerConfig`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as save_safetensors

from lstmkit.errors import CheckpointError

CHECKPOINT_FILE = "checkpoint.safetensors"
FORMAT_VERSION = 1
METADATA_KEY = "lstmkit_checkpoint"
_TEMP_PREFIX = ".checkpoint-"
_REQUIRED_META = ("format_version", "epoch", "global_step", "history", "optimizer", "rng")


@dataclass
class TrainingCheckpoint:
    """Everything needed to continue a run exactly where it stopped."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    meta: dict[str, Any]
    best: dict[str, torch.Tensor] | None = None
    ema: dict[str, torch.Tensor] | None = None
    torch_rng: torch.Tensor | None = None
    cuda_rng: list[torch.Tensor] = field(default_factory=list)


def checkpoint_path(directory: str | os.PathLike[str]) -> Path:
    """Path of the checkpoint file inside `directory`."""
    return Path(directory) / CHECKPOINT_FILE


def save_checkpoint(path: str | os.PathLike[str], ckpt: TrainingCheckpoint) -> None:
    """Write `ckpt` to `path` atomically: temp file in the same folder, fsync, `os.replace`."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    tensors.update(_prefixed("model.", ckpt.model))
    if ckpt.best is not None:
        tensors.update(_prefixed("best.", ckpt.best))
    if ckpt.ema is not None:
        tensors.update(_prefixed("ema.", ckpt.ema))
    opt_tensors, opt_json = _flatten_optimizer(ckpt.optimizer)
    tensors.update(opt_tensors)
    if ckpt.torch_rng is not None:
        tensors["rng.torch"] = _cpu_copy(ckpt.torch_rng)
    for i, state in enumerate(ckpt.cuda_rng):
        tensors[f"rng.cuda.{i}"] = _cpu_copy(state)
    meta = dict(ckpt.meta, format_version=FORMAT_VERSION, optimizer=opt_json)
    try:
        text = json.dumps(to_jsonable(meta))
    except TypeError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from exc
    data = save_safetensors(tensors, metadata={METADATA_KEY: text})

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def read_checkpoint_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the JSON metadata of a checkpoint (cheap: tensors are not read)."""
    metadata, _ = _read(Path(path), with_tensors=False)
    return _parse_meta(Path(path), metadata)


def _read(path: Path, with_tensors: bool) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """Metadata (and tensors) of a checkpoint file; unreadable files raise `CheckpointError`."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()} if with_tensors else {}
    except FileNotFoundError as exc:
        raise CheckpointError(f"checkpoint {path} does not exist") from exc
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({exc}); it may be truncated or not a "
            f"safetensors file: delete it to start over"
        ) from exc
    return metadata, tensors


def load_checkpoint(path: str | os.PathLike[str]) -> TrainingCheckpoint:
    """Read a checkpoint written by `save_checkpoint`; problems raise `CheckpointError`."""
    path = Path(path)
    metadata, tensors = _read(path, with_tensors=True)
    meta = _parse_meta(path, metadata)

    groups: dict[str, dict[str, torch.Tensor]] = {"model": {}, "best": {}, "ema": {},
                                                  "optimizer": {}}
    cuda_rng: dict[int, torch.Tensor] = {}
    torch_rng = None
    for name, tensor in tensors.items():
        prefix, _, rest = name.partition(".")
        if prefix in groups and rest:
            groups[prefix][rest] = tensor
        elif name == "rng.torch":
            torch_rng = tensor
        elif name.startswith("rng.cuda."):
            cuda_rng[int(name.rsplit(".", 1)[1])] = tensor
        else:
            raise CheckpointError(f"checkpoint {path} holds an unexpected tensor {name!r}")
    if not groups["model"]:
        raise CheckpointError(f"checkpoint {path} holds no model weights")
    try:
        optimizer = _unflatten_optimizer(groups["optimizer"], meta["optimizer"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} has malformed optimizer state: {exc}") from exc
    return TrainingCheckpoint(
        model=groups["model"],
        optimizer=optimizer,
        meta=meta,
        best=groups["best"] or None,
        ema=groups["ema"] or None,
        torch_rng=torch_rng,
        cuda_rng=[cuda_rng[i] for i in sorted(cuda_rng)],
    )


def remove_stale_temp_files(directory: str | os.PathLike[str]) -> None:
    """Delete temp files a killed writer left behind in `directory`."""
    directory = Path(directory)
    if directory.is_dir():
        for stale in directory.glob(f"{_TEMP_PREFIX}*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()


def capture_rng_state() -> tuple[torch.Tensor, list[torch.Tensor], dict[str, Any]]:
    """Torch CPU and CUDA generator states plus JSON-able NumPy and Python states."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    version, state, gauss_next = random.getstate()
    return (
        torch.get_rng_state(),
        list(cuda),
        {
            "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "python": [version, list(state), gauss_next],
        },
    )


def restore_rng_state(
    torch_rng: torch.Tensor | None, cuda_rng: list[torch.Tensor], other: dict[str, Any]
) -> None:
    """Inverse of `capture_rng_state`."""
    if torch_rng is not None:
        torch.set_rng_state(torch_rng.to(torch.uint8))
    if cuda_rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to(torch.uint8) for s in cuda_rng])
    if "numpy" in other:
        kind, keys, pos, has_gauss, cached = other["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "python" in other:
        version, state, gauss_next = other["python"]
        random.setstate((version, tuple(state), gauss_next))


def to_jsonable(obj: Any) -> Any:
    """Convert nested state (tuples, NumPy/torch scalars) into JSON-able Python values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, torch.Tensor) and obj.numel() == 1:
        return obj.item()
    raise TypeError(f"value of type {type(obj).__name__} cannot be stored as JSON: {obj!r}")


def _parse_meta(path: Path, metadata: dict[str, str]) -> dict[str, Any]:
    if METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path} is a safetensors file but not an lstmkit training checkpoint "
            f"(no {METADATA_KEY!r} metadata)"
        )
    try:
        meta = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"checkpoint {path} has unreadable metadata: {exc}") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {path} has malformed metadata (not a JSON object)")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}; this lstmkit reads version "
            f"{FORMAT_VERSION}"
        )
    missing = [key for key in _REQUIRED_META if key not in meta]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks metadata field(s) {', '.join(missing)}")
    return meta


def _flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = _cpu_copy(value)
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "state_scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], saved: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        index, _, key = name.partition(".")
        state.setdefault(int(index), {})[key] = tensor
    for index, entries in saved["state_scalars"].items():
        state.setdefault(int(index), {}).update(entries)
    return {"state": state, "param_groups": saved["param_groups"]}


def _prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"state entry {name!r} is not a tensor and cannot be saved")
        out[prefix + name] = _cpu_copy(tensor)
    return out


def _cpu_copy(tensor: torch.Tensor) -> torch.Tensor:
    # A real copy: safetensors refuses tensors that share storage (tied weights, views).
    return tensor.detach().to("cpu", copy=True).contiguous()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
