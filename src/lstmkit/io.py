"""Save and load models as a folder of safetensors weights plus a JSON config; never pickle.

A saved model is a folder holding two files:

- ``model.safetensors``: the tensors of ``state_dict()``;
- ``config.json``: ``{"format": "lstmkit-model", "format_version": 1, "lstmkit_version": ...,
  "kind": ..., "config": {...}, "extra": {...}, "weights_sha256": ...}``.

Any class can take part by registering under a *kind* name::

    @register_model("tiny-lstm")
    class Tiny(nn.Module):
        def get_config(self) -> dict: ...           # JSON hyperparameters
        @classmethod
        def from_config(cls, config: dict) -> "Tiny": ...

Besides ``get_config``/``from_config`` a registered class needs ``state_dict()`` and
``load_state_dict(tensors)`` over a flat ``dict[str, Tensor]``: every ``nn.Module`` has them,
and an estimator that owns a module can forward them. It may also define ``get_extra() -> dict``
and ``set_extra(extra)`` for JSON state that is not a tensor (a fitted scaler, a vocabulary).

Compatibility rule: ``format_version`` is the contract. This lstmkit reads format versions in
``SUPPORTED_FORMAT_VERSIONS`` and refuses newer ones; the ``lstmkit_version`` that wrote a file
is recorded for diagnosis and quoted in errors but not enforced, because the layout, not the
package version, decides whether a file can be read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import safetensors.torch
import torch
from safetensors import SafetensorError

from lstmkit.errors import ConfigError, ModelFileError

FORMAT = "lstmkit-model"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = frozenset({1})
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib"})
_BUILTIN_MODULES = ("lstmkit.nn", "lstmkit.models", "lstmkit.federated")  # register kinds

T = TypeVar("T", bound=type)
_REGISTRY: dict[str, type] = {}


def _lstmkit_version() -> str:
    from lstmkit import __version__

    return __version__


# --------------------------------------------------------------------------- registry
def register_model(kind: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` savable by :func:`save` and rebuildable by :func:`load`."""
    if not isinstance(kind, str) or not kind.strip():
        raise ConfigError(f"model kind must be a non-empty string, got {kind!r}")

    def decorate(cls: T) -> T:
        needed = ("get_config", "from_config", "state_dict", "load_state_dict")
        lacking = [name for name in needed if not callable(getattr(cls, name, None))]
        if lacking:
            raise ConfigError(f"cannot register {cls.__qualname__} as {kind!r}: it lacks {lacking}")
        old = _REGISTRY.get(kind)
        if old is not None and _qualname(old) != _qualname(cls):
            raise ConfigError(
                f"model kind {kind!r} is already registered to {_qualname(old)}; "
                f"choose another name for {_qualname(cls)}"
            )
        _REGISTRY[kind] = cls
        cls._lstmkit_kind = kind  # type: ignore[attr-defined]
        return cls

    return decorate


def registered_kinds() -> list[str]:
    """Names of every registered model kind, sorted."""
    return sorted(_REGISTRY)


def model_class(kind: str) -> type:
    """The class registered under ``kind`` (importing lstmkit's own models if needed)."""
    if kind not in _REGISTRY:
        import importlib

        for module in _BUILTIN_MODULES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:  # the package may not ship that part
                if err.name != module:
                    raise
    if kind not in _REGISTRY:
        known = ", ".join(registered_kinds()) or "none"
        raise ModelFileError(
            f"unknown model kind {kind!r}; known kinds: {known}. Import the module that defines "
            f"it (decorated with @register_model({kind!r})) before loading"
        )
    return _REGISTRY[kind]


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------- low level
@dataclass(frozen=True)
class SavedState:
    """Everything read back from a model folder, before any class is rebuilt."""

    kind: str
    config: dict[str, Any]
    extra: dict[str, Any]
    tensors: dict[str, torch.Tensor] = field(repr=False)
    lstmkit_version: str


def save_state(
    path: str | os.PathLike[str],
    tensors: dict[str, torch.Tensor],
    *,
    kind: str,
    config: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``tensors`` and the JSON header to the folder ``path`` atomically; return it."""
    if not isinstance(kind, str) or not kind.strip():
        raise ConfigError(f"model kind must be a non-empty string, got {kind!r}")
    target = Path(path)
    _check_target(target)
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lstmkit_version": _lstmkit_version(),
        "kind": kind,
        "config": _jsonable(config, "config", kind),
        "extra": _jsonable(extra or {}, "extra", kind),
    }
    flat = _own_tensors(tensors)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as err:
        raise ModelFileError(f"cannot create a model folder at {target}: {err}") from err
    try:
        weights = tmp / WEIGHTS_FILE
        safetensors.torch.save_file(flat, weights, metadata={"format": FORMAT})
        _fsync(weights)
        header["weights_sha256"] = _sha256(weights.read_bytes())
        (tmp / CONFIG_FILE).write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")
        _fsync(tmp / CONFIG_FILE)
        _fsync(tmp)
        _swap_into_place(tmp, target)
    except OSError as err:
        raise ModelFileError(f"could not write model to {target}: {err}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_state(path: str | os.PathLike[str]) -> SavedState:
    """Read and verify a model folder; raise :class:`ModelFileError` on anything wrong."""
    folder = Path(path)
    _check_source(folder)
    header = _read_header(folder / CONFIG_FILE)
    data = (folder / WEIGHTS_FILE).read_bytes()
    if _sha256(data) != header["weights_sha256"]:
        raise ModelFileError(
            f"{folder / WEIGHTS_FILE} does not match the sha256 recorded in {CONFIG_FILE} "
            f"(file is truncated, corrupted or was edited); re-save or re-copy the model"
        )
    try:
        tensors = safetensors.torch.load(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise ModelFileError(
            f"{folder / WEIGHTS_FILE} is not a readable safetensors file ({err}); "
            f"re-save or re-copy the model"
        ) from err
    return SavedState(
        kind=header["kind"],
        config=header["config"],
        extra=header.get("extra") or {},
        tensors=tensors,
        lstmkit_version=str(header.get("lstmkit_version", "unknown")),
    )


# --------------------------------------------------------------------------- high level
def save(obj: Any, path: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
    """Save a registered model (``nn.Module`` or estimator) to the folder ``path``.

    ``extra`` is merged over what ``obj.get_extra()`` returns, when the object defines it.
    """
    kind = getattr(type(obj), "_lstmkit_kind", None)
    if kind is None or _REGISTRY.get(kind) is not type(obj):
        raise ConfigError(
            f"{_qualname(type(obj))} is not a registered model; decorate the class with "
            f"@lstmkit.io.register_model('<kind>') to make it savable"
        )
    state = dict(getattr(obj, "get_extra", dict)())
    state.update(extra or {})
    return save_state(path, obj.state_dict(), kind=kind, config=obj.get_config(), extra=state)


def load(path: str | os.PathLike[str]) -> Any:
    """Rebuild the model saved at ``path`` from its config and load its weights strictly."""
    state = read_state(path)
    cls = model_class(state.kind)
    try:
        obj = cls.from_config(state.config)
    except Exception as err:
        raise ModelFileError(
            f"{path}: the saved config does not fit kind {state.kind!r} in this lstmkit "
            f"(file written by lstmkit {state.lstmkit_version}, this is {_lstmkit_version()}): "
            f"{err}"
        ) from err
    if state.extra and callable(getattr(obj, "set_extra", None)):
        try:  # first: an estimator may rebuild its network from it
            obj.set_extra(state.extra)
        except Exception as err:
            raise ModelFileError(
                f"{path}: the saved extra state does not fit kind {state.kind!r} ({err!r}); "
                "the file was edited or written by an incompatible lstmkit - re-save the model"
            ) from err
    _check_weights(Path(path), obj.state_dict(), state.tensors)
    if isinstance(obj, torch.nn.Module):
        obj.load_state_dict(state.tensors, strict=True)
    else:
        obj.load_state_dict(state.tensors)
    return obj


# --------------------------------------------------------------------------- helpers
def _check_target(target: Path) -> None:
    """Refuse targets whose replacement could destroy something that is not ours."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ModelFileError(f"cannot save to {target}: it exists and is not a folder")
    if not target.is_dir():
        return
    entries = {p.name for p in target.iterdir()}
    if not entries:
        return
    others = sorted(entries - {CONFIG_FILE, WEIGHTS_FILE})
    if others or not _is_model_folder(target):
        shown = ", ".join(others[:5] or sorted(entries)) + (", ..." if len(others) > 5 else "")
        raise ModelFileError(
            f"cannot save to {target}: it is a folder with other files ({shown}) and not "
            f"an lstmkit model folder; choose a new or empty folder"
        )


def _is_model_folder(folder: Path) -> bool:
    try:
        header = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def _swap_into_place(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.rename(tmp, target)
    else:
        backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        backup.rmdir()
        os.rename(target, backup)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(backup, target)
            raise
        shutil.rmtree(backup, ignore_errors=True)
    _fsync(target.parent)


def _check_source(folder: Path) -> None:
    if not folder.exists():
        raise ModelFileError(f"no model at {folder}: the path does not exist")
    if folder.is_file():
        if folder.suffix.lower() in PICKLE_SUFFIXES or _looks_pickled(folder):
            raise ModelFileError(
                f"{folder} looks like a pickle/torch.save file; lstmkit never unpickles files "
                f"because unpickling can run arbitrary code. Load the model in the program that "
                f"made it and save it with lstmkit.io.save() to get a safetensors folder"
            )
        hint = (
            f" (pass its folder {folder.parent})"
            if folder.name in (CONFIG_FILE, WEIGHTS_FILE)
            else ""
        )
        raise ModelFileError(
            f"{folder} is a file, not a model folder; an lstmkit model is a folder holding "
            f"{CONFIG_FILE} and {WEIGHTS_FILE}{hint}"
        )
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / name).is_file()]
    if missing:
        raise ModelFileError(
            f"{folder} is not a complete lstmkit model: missing {', '.join(missing)}; "
            f"point to a folder written by lstmkit.io.save() or re-save the model"
        )


def _looks_pickled(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4)
    return head.startswith(b"PK\x03\x04") or (len(head) >= 2 and head[0] == 0x80 and head[1] <= 5)


def _read_header(file: Path) -> dict[str, Any]:
    try:
        header = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{file} is not valid JSON ({err}); re-save the model") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ModelFileError(
            f"{file} is not an lstmkit model config (format is {found!r}, expected {FORMAT!r})"
        )
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{file} has an invalid format_version {version!r}; re-save the model")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ModelFileError(
            f"{file} has format_version {version} (written by lstmkit "
            f"{header.get('lstmkit_version', 'unknown')}), but this lstmkit "
            f"{_lstmkit_version()} reads format_version {max(SUPPORTED_FORMAT_VERSIONS)}; "
            f"upgrade lstmkit to load it"
        )
    expected = {"kind": str, "config": dict, "weights_sha256": str}
    bad = [key for key, typ in expected.items() if not isinstance(header.get(key), typ)]
    if "extra" in header and not isinstance(header["extra"], dict):
        bad.append("extra")
    if bad:
        raise ModelFileError(f"{file} has missing or invalid fields: {', '.join(bad)}; re-save it")
    return header


def _check_weights(path: Path, want: dict[str, Any], got: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(want) - set(got))
    unexpected = sorted(set(got) - set(want))
    shapes = [
        f"{key}: file {tuple(got[key].shape)} vs model {tuple(want[key].shape)}"
        for key in sorted(set(want) & set(got))
        if tuple(got[key].shape) != tuple(want[key].shape)
    ]
    problems = [
        f"{label}: {', '.join(items)}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
        if items
    ]
    if problems:
        raise ModelFileError(
            f"weights in {path} do not match the rebuilt model ({'; '.join(problems)}); "
            f"the config and weights come from different models - re-save the model"
        )


def _own_tensors(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU copies that share no storage (safetensors requires it)."""
    flat: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ConfigError(
                f"state entry {key!r} is a {type(value).__name__}; only str -> Tensor entries "
                f"can be saved, put other state in get_extra()/extra"
            )
        flat[key] = value.detach().to("cpu").clone(memory_format=torch.contiguous_format)
    return flat


def _jsonable(value: dict[str, Any], what: str, kind: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} of kind {kind!r} must be a dict, got {type(value).__name__}")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{what} of kind {kind!r} is not plain JSON: {err}") from err


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (folders cannot be opened on some platforms)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
