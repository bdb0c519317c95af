"""`lstmkit forecast --nproc 2` (a real torchrun, 2 gloo processes) writes what one process does.

Tolerance: the two runs differ by float reduction order only: numbers in the CSV files within
1e-4 relative (measured ≤ 1e-5 on metrics, ≤ 2e-6 on forecasts), the saved model's weights
within 1e-5 relative per tensor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from typer.testing import CliRunner

from lstmkit.cli import app

runner = CliRunner()
ARGS = ["--horizon", "6", "--lookback", "24", "--hidden-size", "8", "--num-layers", "1",
        "--epochs", "2", "--batch-size", "32", "--folds", "2", "--baselines", "naive"]


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(folder / "model" / "model.safetensors"), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def test_nproc_2_writes_the_single_process_results(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    n = 480  # the final fit has an odd number of windows: the padded last batch is exercised
    t = np.arange(n)
    rng = np.random.default_rng(0)
    pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                  "y": 10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n)}
                 ).to_csv(tmp_path / "data.csv", index=False)
    data = str(tmp_path / "data.csv")
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    result = runner.invoke(app, ["forecast", data, *ARGS, "--output", str(single)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["forecast", data, *ARGS, "--output", str(ddp), "--nproc", "2"])
    assert result.exit_code == 0, result.output

    files = sorted(p.relative_to(single) for p in single.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(ddp) for p in ddp.rglob("*") if p.is_file())
    assert (single / "config.yaml").read_text() == (ddp / "config.yaml").read_text()
    for name in ("metrics.csv", "forecasts.csv", "forecast.csv"):
        a, b = pd.read_csv(single / name), pd.read_csv(ddp / name)
        numbers = a.select_dtypes("number").columns
        pd.testing.assert_frame_equal(a.drop(columns=numbers), b.drop(columns=numbers))
        np.testing.assert_allclose(b[numbers], a[numbers], rtol=1e-4, atol=1e-6)
    # averaging two half-batch gradients rounds differently from one full-batch mean; Adam
    # scales that rounding up for weights whose gradients are near zero (the decoder MLP's:
    # up to 2.4e-5 here, the LSTM's 5e-8). A rank training on its own half alone is off by far
    # more.
    expected, got = _weights(single), _weights(ddp)
    for key, tensor in expected.items():
        assert ((got[key] - tensor).norm() / tensor.norm()).item() < 1e-4, key


def test_nproc_must_match_torchrun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0",
                        "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, ["backtest", "--dataset", "stocks", "--nproc", "3",
                                 "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "--nproc 3 but torchrun started 2 processes" in result.output


@pytest.mark.parametrize("options", [["--fold-jobs", "2"], ["--ensemble", "2", "--n-jobs", "2"]])
def test_forked_workers_are_refused_with_nproc_before_any_process_starts(
        tmp_path: Path, options: list[str]) -> None:
    result = runner.invoke(app, ["forecast", "--dataset", "stocks", *ARGS, *options,
                                 "--nproc", "2", "--output", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{' '.join(options[-2:])}: forked worker processes cannot run inside torchrun" in (
        result.output)
    assert not (tmp_path / "out" / "metrics.csv").exists()


def test_a_bad_model_setting_is_refused_before_torchrun_starts(tmp_path: Path) -> None:
    result = runner.invoke(app, ["forecast", "--dataset", "stocks", *ARGS, "--hidden-size", "0",
                                 "--nproc", "2", "--output", str(tmp_path / "out")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "hidden_size must be a positive integer, got 0" in result.output
