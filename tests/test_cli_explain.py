"""`lstmkit explain`: the files it writes and its errors (through typer's CliRunner)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmkit import LSTMForecaster
from lstmkit.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny saved forecaster with attention and a CSV of data for it."""
    folder = tmp_path_factory.mktemp("explain")
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=300, freq="h"),
                          "load": np.r_[0.0, 2 * x[:-1]], "x": x})
    model = LSTMForecaster(lookback=6, horizon=2, hidden_size=8, num_layers=1, max_epochs=2,
                           attention="additive", seasonal_lags=[], calendar=False,
                           past_covariates=["x"], progress=False)
    model.fit(frame.iloc[:200], target="load", time_col="when")
    model.save(folder / "model")
    frame.to_csv(folder / "data.csv", index=False)
    return folder


def test_explain_writes_tables_and_report(saved, tmp_path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["explain", str(saved / "model"), str(saved / "data.csv"),
                                 "--output", str(out), "--origin", "2024-01-10 05:00",
                                 "--repeats", "2", "--attention-origins", "4"])
    assert result.exit_code == 0, result.output
    for name in ("importance.csv", "attributions.csv", "attention.csv", "explain.html"):
        assert (out / name).is_file(), name
    importance = pd.read_csv(out / "importance.csv")
    assert set(importance.loc[importance["scope"] == "feature", "name"]) == {"load", "x"}
    attention = pd.read_csv(out / "attention.csv", parse_dates=["origin"])
    assert attention["origin"].nunique() == 4
    assert attention["origin"].max() == pd.Timestamp("2024-01-10 05:00")
    cells = pd.read_csv(out / "attributions.csv", parse_dates=["time"])
    assert cells["time"].max() == pd.Timestamp("2024-01-10 04:00")  # the lookback's last step
    assert "permutation importance" in result.output and "x" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--repeats", "0"], "repeats must be a positive integer"),
    (["--origin", "2024-01-01 02:00"], "rows before it"),
    (["--origin", "1999-01-01"], "is not a timestamp of the data"),
])
def test_explain_errors(saved, tmp_path, args, message) -> None:
    result = runner.invoke(app, ["explain", str(saved / "model"), str(saved / "data.csv"),
                                 "--output", str(tmp_path / "run"), *args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
