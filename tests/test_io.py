"""Saving and loading models: round trips, atomic overwrites and every refusal."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from torch import nn

from lstmkit import io
from lstmkit.errors import ConfigError, ModelFileError


@io.register_model("test-tiny-lstm")
class TinyLSTM(nn.Module):
    """Linear projection into a one-layer LSTM, then a linear head."""

    def __init__(self, n_features: int = 3, hidden_size: int = 5) -> None:
        super().__init__()
        self.n_features, self.hidden_size = n_features, hidden_size
        self.proj = nn.Linear(n_features, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.proj(x))
        return self.head(out[:, -1])

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "hidden_size": self.hidden_size}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TinyLSTM:
        return cls(**config)


@io.register_model("test-tiny-estimator")
class TinyEstimator:
    """A scikit-learn style object that owns a module and a fitted scaler (not a Module)."""

    def __init__(self, hidden_size: int = 4) -> None:
        self.hidden_size = hidden_size
        self.net = TinyLSTM(n_features=2, hidden_size=hidden_size)
        self.mean_: list[float] | None = None

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x - torch.tensor(self.mean_))

    def get_config(self) -> dict[str, Any]:
        return {"hidden_size": self.hidden_size}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TinyEstimator:
        return cls(**config)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {f"net.{k}": v for k, v in self.net.state_dict().items()}

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        self.net.load_state_dict({k.removeprefix("net."): v for k, v in tensors.items()})

    def get_extra(self) -> dict[str, Any]:
        return {"mean_": self.mean_}

    def set_extra(self, extra: dict[str, Any]) -> None:
        self.mean_ = extra["mean_"]


class Evil:
    """Unpickling this creates a marker file: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.fixture
def model() -> TinyLSTM:
    torch.manual_seed(0)
    return TinyLSTM()


@pytest.fixture
def saved(tmp_path: Path, model: TinyLSTM) -> Path:
    return io.save(model, tmp_path / "model")


def _edit_config(folder: Path, **changes: Any) -> None:
    header = json.loads((folder / "config.json").read_text())
    header.update(changes)
    (folder / "config.json").write_text(json.dumps(header))


def _write_weights(folder: Path, data: bytes) -> None:
    """Replace the weights and record their true sha256, so only the content check can fail."""
    (folder / "model.safetensors").write_bytes(data)
    _edit_config(folder, weights_sha256=hashlib.sha256(data).hexdigest())


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


# --------------------------------------------------------------------------- round trips
def test_module_round_trip_gives_identical_weights_and_outputs(saved: Path, model: TinyLSTM):
    loaded = io.load(saved)
    assert type(loaded) is TinyLSTM and loaded.get_config() == model.get_config()
    _assert_same(loaded.state_dict(), model.state_dict())
    x = torch.randn(4, 7, 3)
    assert torch.equal(loaded(x), model(x))


def test_folder_holds_safetensors_and_a_json_header(saved: Path):
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    header = json.loads((saved / "config.json").read_text())
    assert header["format"] == "lstmkit-model" and header["format_version"] == 1
    assert header["kind"] == "test-tiny-lstm"
    assert header["config"] == {"n_features": 3, "hidden_size": 5}
    assert header["lstmkit_version"] == __import__("lstmkit").__version__
    weights = (saved / "model.safetensors").read_bytes()
    assert header["weights_sha256"] == hashlib.sha256(weights).hexdigest()


def test_config_and_extra_round_trip(tmp_path: Path, model: TinyLSTM):
    extra = {"scaler": {"mean": [0.5, -1.25], "std": [2.0, 3.0]}, "target": "demand"}
    io.save(model, tmp_path / "m", extra=extra)
    state = io.read_state(tmp_path / "m")
    assert state.kind == "test-tiny-lstm" and state.extra == extra
    assert state.config == {"n_features": 3, "hidden_size": 5}
    _assert_same(state.tensors, model.state_dict())


def test_estimator_round_trip_restores_weights_and_extra_state(tmp_path: Path):
    torch.manual_seed(1)
    est = TinyEstimator(hidden_size=6)
    est.mean_ = [0.25, -0.5]
    io.save(est, tmp_path / "est")
    loaded = io.load(tmp_path / "est")
    assert isinstance(loaded, TinyEstimator) and loaded.mean_ == [0.25, -0.5]
    x = torch.randn(2, 5, 2)
    assert torch.equal(loaded.predict(x), est.predict(x))


def test_non_contiguous_and_shared_tensors_are_saved(tmp_path: Path):
    base = torch.arange(12.0).reshape(3, 4)
    tensors = {"full": base, "transposed": base.t(), "row": base[1], "alias": base}
    io.save_state(tmp_path / "s", tensors, kind="anything", config={})
    _assert_same(io.read_state(tmp_path / "s").tensors, {k: v.clone() for k, v in tensors.items()})


def test_module_with_non_contiguous_parameter_round_trips(tmp_path: Path, model: TinyLSTM):
    model.proj.weight = nn.Parameter(torch.randn(3, 5).t())
    assert not model.proj.weight.is_contiguous()
    io.save(model, tmp_path / "nc")
    _assert_same(io.load(tmp_path / "nc").state_dict(), model.state_dict())


# --------------------------------------------------------------------------- broken files
def test_missing_path(tmp_path: Path):
    with pytest.raises(ModelFileError, match=r"no model at .*nowhere.*does not exist"):
        io.load(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_missing_file(saved: Path, name: str):
    (saved / name).unlink()
    with pytest.raises(ModelFileError, match=rf"not a complete lstmkit model: missing {name}"):
        io.load(saved)


def test_plain_file_is_not_a_model_folder(saved: Path):
    with pytest.raises(ModelFileError, match=r"is a file, not a model folder.*pass its folder"):
        io.load(saved / "config.json")


def test_config_not_json(saved: Path):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match=r"config\.json is not valid JSON"):
        io.load(saved)


def test_config_wrong_format(saved: Path):
    _edit_config(saved, format="something-else")
    with pytest.raises(ModelFileError, match=r"not an lstmkit model config.*'something-else'"):
        io.load(saved)


def test_config_missing_fields(saved: Path):
    header = json.loads((saved / "config.json").read_text())
    del header["kind"], header["weights_sha256"]
    (saved / "config.json").write_text(json.dumps(header))
    with pytest.raises(ModelFileError, match=r"missing or invalid fields: kind, weights_sha256"):
        io.load(saved)


def test_newer_format_version_names_both_versions(saved: Path):
    _edit_config(saved, format_version=999)
    with pytest.raises(
        ModelFileError, match=r"format_version 999 .*reads format_version 1.*upgrade"
    ):
        io.load(saved)


def test_invalid_format_version(saved: Path):
    _edit_config(saved, format_version="one")
    with pytest.raises(ModelFileError, match=r"invalid format_version 'one'"):
        io.load(saved)


def test_truncated_weights(saved: Path):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match=r"does not match the sha256.*truncated"):
        io.load(saved)


def test_tampered_weights(saved: Path):
    data = bytearray((saved / "model.safetensors").read_bytes())
    data[-3] ^= 0x01
    (saved / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"does not match the sha256"):
        io.load(saved)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[:6],  # shorter than the 8-byte header length
        lambda d: b"\xff" * 8 + d[8:],  # absurd header length
        lambda d: d[:8] + b"{bad" + d[12:],  # header JSON broken
        lambda d: d[:-4],  # data section cut short
    ],
    ids=["tiny", "length", "json", "short-data"],
)
def test_corrupt_safetensors_header(saved: Path, mangle):
    _write_weights(saved, mangle((saved / "model.safetensors").read_bytes()))
    with pytest.raises(ModelFileError, match=r"model\.safetensors is not a readable safetensors"):
        io.load(saved)


def test_unknown_kind_lists_known_kinds(saved: Path):
    _edit_config(saved, kind="no-such-model")
    with pytest.raises(ModelFileError, match=r"unknown model kind 'no-such-model'.*test-tiny-lstm"):
        io.load(saved)


def test_shape_mismatch_names_the_tensors(saved: Path):
    _edit_config(saved, config={"n_features": 3, "hidden_size": 8})
    with pytest.raises(
        ModelFileError, match=r"shape: .*proj\.weight: file \(5, 3\) vs model \(8, 3\)"
    ):
        io.load(saved)


def test_missing_and_unexpected_keys_are_named(tmp_path: Path, model: TinyLSTM):
    tensors = dict(model.state_dict())
    tensors["surplus"] = tensors.pop("head.bias")
    io.save_state(tmp_path / "m", tensors, kind="test-tiny-lstm", config=model.get_config())
    with pytest.raises(ModelFileError, match=r"missing: head\.bias; unexpected: surplus"):
        io.load(tmp_path / "m")


def test_config_that_does_not_fit_the_class(saved: Path):
    _edit_config(saved, config={"n_layers": 2})
    with pytest.raises(
        ModelFileError, match=r"config does not fit kind 'test-tiny-lstm'.*n_layers"
    ):
        io.load(saved)


# --------------------------------------------------------------------------- never unpickle
@pytest.mark.parametrize("name", ["weights.pt", "weights.pth", "model.pkl", "no_suffix"])
def test_torch_save_files_are_refused(tmp_path: Path, model: TinyLSTM, name: str):
    torch.save(model.state_dict(), tmp_path / name)
    with pytest.raises(ModelFileError, match=r"lstmkit never unpickles"):
        io.load(tmp_path / name)


@pytest.mark.parametrize("name", ["evil.pkl", "evil"])
def test_malicious_pickle_is_never_executed(tmp_path: Path, name: str):
    marker = tmp_path / "pwned"
    (tmp_path / name).write_bytes(pickle.dumps(Evil(marker), protocol=4))
    with pytest.raises(ModelFileError, match=r"never unpickles"):
        io.load(tmp_path / name)
    assert not marker.exists()


def test_pickle_disguised_as_weights_is_never_executed(saved: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    _write_weights(saved, pickle.dumps(Evil(marker)))
    with pytest.raises(ModelFileError, match=r"not a readable safetensors"):
        io.load(saved)
    assert not marker.exists()


# --------------------------------------------------------------------------- safe saving
def _leftovers(parent: Path, keep: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name != keep)


def test_failed_save_keeps_the_old_model(saved: Path, monkeypatch: pytest.MonkeyPatch):
    old = io.load(saved).state_dict()

    def broken_writer(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(safetensors.torch, "save_file", broken_writer)
    with pytest.raises(RuntimeError, match="disk on fire"):
        io.save(TinyLSTM(hidden_size=9), saved)
    _assert_same(io.load(saved).state_dict(), old)
    assert _leftovers(saved.parent, saved.name) == []


def test_failed_swap_restores_the_old_model(saved: Path, monkeypatch: pytest.MonkeyPatch):
    old = io.load(saved).state_dict()
    real_rename = os.rename

    def rename(src, dst):
        if ".tmp-" in Path(src).name:
            raise OSError("rename refused")
        real_rename(src, dst)

    monkeypatch.setattr(io.os, "rename", rename)
    with pytest.raises(ModelFileError, match=r"could not write model to .*rename refused"):
        io.save(TinyLSTM(hidden_size=9), saved)
    monkeypatch.undo()
    _assert_same(io.load(saved).state_dict(), old)
    assert _leftovers(saved.parent, saved.name) == []


def test_successful_save_replaces_an_earlier_model(saved: Path):
    torch.manual_seed(3)
    new = TinyLSTM(hidden_size=9)
    assert io.save(new, saved) == saved
    loaded = io.load(saved)
    assert loaded.hidden_size == 9
    _assert_same(loaded.state_dict(), new.state_dict())
    assert _leftovers(saved.parent, saved.name) == []


def test_refuses_unrelated_folder_with_files(tmp_path: Path, model: TinyLSTM):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(
        ModelFileError, match=r"other files \(notes\.txt\) and not an lstmkit model folder"
    ):
        io.save(model, folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me"


def test_refuses_model_folder_holding_user_files(saved: Path, model: TinyLSTM):
    (saved / "README.md").write_text("mine")
    with pytest.raises(ModelFileError, match=r"other files \(README\.md\)"):
        io.save(model, saved)
    assert (saved / "README.md").read_text() == "mine"


def test_refuses_existing_file(tmp_path: Path, model: TinyLSTM):
    target = tmp_path / "model"
    target.write_text("data")
    with pytest.raises(ModelFileError, match=r"exists and is not a folder"):
        io.save(model, target)
    assert target.read_text() == "data"


def test_saves_into_empty_and_nested_new_folders(tmp_path: Path, model: TinyLSTM):
    (tmp_path / "empty").mkdir()
    io.save(model, tmp_path / "empty")
    io.save(model, tmp_path / "a" / "b" / "c")
    for path in (tmp_path / "empty", tmp_path / "a" / "b" / "c"):
        _assert_same(io.load(path).state_dict(), model.state_dict())


# --------------------------------------------------------------------------- registry
def test_unregistered_object_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"not a registered model.*register_model"):
        io.save(nn.Linear(2, 2), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_subclass_of_registered_class_needs_its_own_kind(tmp_path: Path):
    class Sub(TinyLSTM):
        pass

    with pytest.raises(ConfigError, match=r"not a registered model"):
        io.save(Sub(), tmp_path / "m")


def test_kind_name_clash_is_refused():
    with pytest.raises(ConfigError, match=r"already registered"):
        io.register_model("test-tiny-lstm")(type("Other", (TinyLSTM,), {}))
    assert "test-tiny-lstm" in io.registered_kinds()


def test_class_without_the_protocol_is_refused():
    with pytest.raises(ConfigError, match=r"lacks \['get_config', 'from_config'\]"):
        io.register_model("test-bare")(nn.Linear)


def test_non_json_config_is_refused(tmp_path: Path, model: TinyLSTM):
    with pytest.raises(ConfigError, match=r"extra of kind 'test-tiny-lstm' is not plain JSON"):
        io.save(model, tmp_path / "m", extra={"bad": object()})
    assert not (tmp_path / "m").exists()
