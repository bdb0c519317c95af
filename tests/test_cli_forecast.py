"""`lstmkit forecast / backtest / predict` end to end on a small CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch.optim.optimizer import register_optimizer_step_pre_hook
from typer.testing import CliRunner

from lstmkit.cli import app
from lstmkit.forecast_job import ForecastConfig

runner = CliRunner()


def write_csv(path: Path, n: int = 700) -> Path:
    t = np.arange(n)
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "when": pd.date_range("2024-03-01", periods=n, freq="h"),
        "load": 50 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, n),
        "temp": 15 + 5 * np.cos(2 * np.pi * t / 24),
        "open": ((t // 24) % 7 < 5).astype(int),
    }).to_csv(path, index=False)
    return path


TINY = ["--lookback", "24", "--horizon", "6", "--hidden-size", "8", "--num-layers", "1",
        "--epochs", "1", "--folds", "2", "--fold-length", "12", "--step", "6",
        "--baselines", "naive,seasonal_naive,linear_ar"]


def test_forecast_writes_every_result_and_predict_reuses_the_model(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    future = tmp_path / "future.csv"
    pd.DataFrame({"when": pd.date_range("2024-03-30 04:00", periods=6, freq="h"),
                  "open": 1}).to_csv(future, index=False)
    out = tmp_path / "run"
    result = runner.invoke(app, [
        "forecast", str(data), "--time-col", "when", "--target", "load", "--past-cov", "temp",
        "--future-cov", "open", "--future", str(future), "--output", str(out), *TINY])
    assert result.exit_code == 0, result.output
    assert "walk-forward backtest" in result.output and "MASE" in result.output
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns) == ["model", "fold", "metric", "value"]
    assert set(metrics["model"]) == {"lstm", "naive", "seasonal_naive_24", "seasonal_naive_168",
                                     "linear_ar_25lags_max168"}
    assert set(metrics["fold"]) == {0, 1}
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert list(forecasts.columns)[:5] == ["time", "fold", "model", "actual", "forecast"]
    assert (forecasts.groupby("model").size() == 2 * 2 * 6).all()
    assert "<svg" in (out / "report.html").read_text(encoding="utf-8")
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["target"] == "load" and saved["past_covariates"] == ["temp"]
    ahead = pd.read_csv(out / "forecast.csv", index_col=0, parse_dates=True)
    assert len(ahead) == 6 and ahead.index[0] == pd.Timestamp("2024-03-30 04:00")
    again = runner.invoke(app, ["predict", str(out / "model"), str(data), "--future",
                                str(future), "--output", str(tmp_path / "p.csv")])
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "p.csv", index_col=0), pd.read_csv(
        out / "forecast.csv", index_col=0))


def test_config_file_and_command_line_override(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": str(data), "time_col": "when", "target": "load",
                                      "horizon": 3, "lookback": 24, "hidden_size": 8,
                                      "num_layers": 1}))
    out = tmp_path / "bt"
    result = runner.invoke(app, ["backtest", "--config", str(config), "--horizon", "6",
                                 "--output", str(out), "--epochs", "1", "--folds", "2",
                                 "--fold-length", "12", "--baselines", "naive"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "config.yaml").read_text())["horizon"] == 6
    assert not (out / "model").exists()  # backtest only


def test_bad_input_gives_one_clear_line(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    result = runner.invoke(app, ["forecast", str(data), "--time-col", "nope", "--target", "load",
                                 "--output", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "error:" in result.output and "nope" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["forecast", "--output", str(tmp_path / "x")])
    assert result.exit_code == 1 and "exactly one of" in result.output


def test_baselines_none_runs_the_lstm_alone(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    out = tmp_path / "solo"
    result = runner.invoke(app, ["backtest", str(data), "--time-col", "when", "--target", "load",
                                 "--output", str(out), "--baselines", "none", "--epochs", "1",
                                 "--horizon", "6", "--lookback", "24", "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(out / "metrics.csv")["model"]) == {"lstm"}


def test_bad_future_file_is_refused_before_training(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    future = tmp_path / "future.csv"
    pd.DataFrame({"when": ["2024-03-30 04:00"], "other": [1]}).to_csv(future, index=False)
    out = tmp_path / "run"
    result = runner.invoke(app, [
        "forecast", str(data), "--time-col", "when", "--target", "load",
        "--future-cov", "open", "--future", str(future), "--output", str(out), *TINY])
    assert result.exit_code == 1
    assert "missing column(s) ['open']" in result.output
    assert not (out / "model").exists() and not (out / "metrics.csv").exists()


def test_interval_backtest_writes_quantile_columns_and_scores(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    config = tmp_path / "q.yaml"
    config.write_text(yaml.safe_dump({
        "data": str(data), "time_col": "when", "target": "load", "likelihood": "quantile",
        "quantiles": [0.1, 0.5, 0.9], "calibrate_intervals": "recent",
        "calibration_window": 3, "lookback": 24, "horizon": 6, "hidden_size": 8,
        "num_layers": 1, "max_epochs": 1, "folds": 2, "fold_length": 12, "step": 6,
        "baselines": ["naive"]}))
    out = tmp_path / "run"
    result = runner.invoke(app, ["backtest", "--config", str(config), "--output", str(out)])
    assert result.exit_code == 0, result.output
    forecasts = pd.read_csv(out / "forecasts.csv")
    lstm = forecasts[forecasts["model"] == "lstm"]
    assert lstm[["q0.1", "q0.5", "q0.9"]].notna().all().all()
    assert forecasts.loc[forecasts["model"] == "naive", "q0.1"].isna().all()
    assert (lstm["q0.1"] <= lstm["q0.9"]).all()
    metrics = pd.read_csv(out / "metrics.csv")
    scores = metrics[metrics["model"] == "lstm"].groupby("metric")["value"].mean()
    inside = (lstm["actual"] >= lstm["q0.1"]) & (lstm["actual"] <= lstm["q0.9"])
    assert scores["coverage_80"] == pytest.approx(inside.groupby(lstm["fold"]).mean().mean())
    assert scores["crps"] == pytest.approx(2 * scores["pinball"])


def test_max_steps_from_the_config_file_bounds_every_fold(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump({
        "data": str(data), "time_col": "when", "target": "load", "lookback": 24,
        "horizon": 6, "hidden_size": 8, "num_layers": 1, "max_steps": 3, "folds": 2,
        "fold_length": 12, "baselines": ["naive"]}))
    assert ForecastConfig.from_yaml(config).model().max_steps == 3
    steps: list[int] = []
    handle = register_optimizer_step_pre_hook(lambda opt, args, kwargs: steps.append(1))
    try:
        result = runner.invoke(app, ["backtest", "--config", str(config),
                                     "--output", str(tmp_path / "bt")])
    finally:
        handle.remove()
    assert result.exit_code == 0, result.output
    assert len(steps) == 2 * 3  # one fit per fold
    assert yaml.safe_load((tmp_path / "bt" / "config.yaml").read_text())["max_steps"] == 3


def test_per_window_training_options_reach_the_model_from_a_config_file(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    options = {"window_norm": "standard", "decoder_states": "aligned", "window_loss": True,
               "partial_windows": True, "sampling": "random", "ema_decay": 0.9}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": str(data), "time_col": "when", "target": "load",
                                      "horizon": 6, "lookback": 24, "hidden_size": 8,
                                      "num_layers": 1, "seasonal_lags": [], **options}))
    out = tmp_path / "run"
    result = runner.invoke(app, ["forecast", "--config", str(config), "--output", str(out),
                                 "--epochs", "1", "--folds", "1", "--fold-length", "6",
                                 "--baselines", "naive"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "model" / "config.json").read_text())["config"]
    assert {k: saved[k] for k in options} == options
    assert len(pd.read_csv(out / "forecast.csv")) == 6
    config.write_text(config.read_text().replace("decoder_states: aligned",
                                                 "decoder_states: first"))
    bad = runner.invoke(app, ["forecast", "--config", str(config), "--output",
                              str(tmp_path / "bad"), "--epochs", "1"])
    assert bad.exit_code != 0
    assert "decoder_states must be one of ('last', 'aligned', 'both'), got 'first'" in bad.output


def test_precision_option_reaches_the_saved_model_and_bad_values_get_one_line(
        tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    common = [str(data), "--time-col", "when", "--target", "load", *TINY]
    out = tmp_path / "run"
    result = runner.invoke(app, ["forecast", *common, "--output", str(out),
                                 "--precision", "bfloat16"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "model" / "config.json").read_text())["config"]["precision"] \
        == "bfloat16"
    assert yaml.safe_load((out / "config.yaml").read_text())["precision"] == "bfloat16"
    assert np.isfinite(pd.read_csv(out / "forecast.csv")["load"]).all()
    bad = runner.invoke(app, ["forecast", *common, "--output", str(tmp_path / "bad"),
                              "--precision", "half"])
    assert bad.exit_code != 0
    assert "precision must be one of 'float32', 'bfloat16', got 'half'" in bad.output
    assert "Traceback" not in bad.output


def test_an_ensemble_from_a_config_file_saves_every_member(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    config = tmp_path / "c.yaml"
    settings = {"data": str(data), "time_col": "when", "target": "load", "horizon": 6,
                "lookback": 24, "hidden_size": 8, "num_layers": 1, "seasonal_lags": [],
                "ensemble": 2, "n_jobs": 2}
    config.write_text(yaml.safe_dump(settings))
    out = tmp_path / "run"
    result = runner.invoke(app, ["forecast", "--config", str(config), "--output", str(out),
                                 "--epochs", "1", "--folds", "1", "--fold-length", "6",
                                 "--baselines", "naive"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "model" / "config.json").read_text())
    assert (saved["config"]["ensemble"], saved["config"]["n_jobs"]) == (2, 2)
    assert len(saved["extra"]["member_histories"]) == 1  # the first member's is "history"
    assert np.isfinite(pd.read_csv(out / "forecast.csv")["load"]).all()
    flags = runner.invoke(app, ["forecast", str(data), "--time-col", "when", "--target", "load",
                                *TINY, "--output", str(tmp_path / "flags"), "--ensemble", "3"])
    assert flags.exit_code == 0, flags.output
    assert json.loads((tmp_path / "flags" / "model" / "config.json").read_text())[
        "config"]["ensemble"] == 3
    config.write_text(yaml.safe_dump({**settings, "ensemble": 0}))
    bad = runner.invoke(app, ["forecast", "--config", str(config), "--output",
                              str(tmp_path / "bad"), "--epochs", "1"])
    assert bad.exit_code != 0
    assert "ensemble must be a positive integer, got 0" in bad.output
    assert "Traceback" not in bad.output


def test_backtest_folds_side_by_side_score_as_folds_in_turn(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "load.csv")
    args = ["forecast", str(data), "--time-col", "when", "--target", "load", *TINY]
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the fold workers train on one thread: in turn, so does this
    try:
        in_turn = runner.invoke(app, [*args, "--output", str(tmp_path / "one")])
        side = runner.invoke(app, [*args, "--fold-jobs", "2", "--output", str(tmp_path / "two")])
    finally:
        torch.set_num_threads(before)
    assert in_turn.exit_code == 0 and side.exit_code == 0, side.output
    one, two = (pd.read_csv(tmp_path / d / "metrics.csv") for d in ("one", "two"))
    lstm = one["model"] == "lstm"
    assert lstm.sum() > 0 and one.loc[lstm, "value"].notna().all()
    np.testing.assert_allclose(two["value"], one["value"], rtol=1e-5)
    assert yaml.safe_load((tmp_path / "two" / "config.yaml").read_text())["fold_jobs"] == 2
    bad = runner.invoke(app, [*args, "--fold-jobs", "0", "--output", str(tmp_path / "bad")])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "fold_jobs (backtest folds trained at once) must be a positive integer, got 0" in (
        bad.output)
