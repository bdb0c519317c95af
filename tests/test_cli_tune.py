"""`lstmkit tune` end to end: config + CLI options, outputs reused by `lstmkit forecast`,
clear errors, and a search killed with SIGKILL that a rerun resumes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lstmkit.cli import app
from lstmkit.forecast_job import ForecastConfig

runner = CliRunner()


def write_config(tmp_path: Path, **extra: Any) -> Path:
    """A CSV of an hourly daily cycle and a tuning YAML for it (tiny model, 2 folds)."""
    n = 300
    t = np.arange(n)
    rng = np.random.default_rng(0)
    data = tmp_path / "load.csv"
    pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="h"),
                  "load": 10 + 3 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.3, n),
                  }).to_csv(data, index=False)
    config = {
        "data": str(data), "time_col": "when", "target": "load", "horizon": 6,
        "lookback": 24, "seasonal_lags": [24], "calendar": False, "hidden_size": 8,
        "num_layers": 1, "max_epochs": 2, "batch_size": 32, "validation_fraction": 0.0,
        "folds": 2, "fold_length": 12, "step": 6, "baselines": ["naive"],
        "trials": 10, "startup_trials": 2,
        "search_space": {"hidden_size": [4, 8, 16], "lr": {"low": 1e-4, "high": 3e-2,
                                                            "log": True}},
        **extra,
    }
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_tune_writes_best_config_that_forecast_reuses(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "tune"
    result = runner.invoke(app, ["tune", "--config", str(config), "--trials", "3",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "top 3 trials by walk-forward CV mase" in text
    assert "trial 0: complete mase" in text and "best mase" in text
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3  # --trials on the command line wins over the YAML's 10
    assert list(trials.columns[:5]) == ["number", "state", "value", "hidden_size", "lr"]
    best = ForecastConfig.from_yaml(out / "best_config.yaml")
    row = trials.loc[trials["value"].idxmin()]
    assert (best.hidden_size, best.lr) == (row["hidden_size"], pytest.approx(row["lr"]))
    assert best.target == "load" and best.time_col == "when" and best.baselines == ["naive"]
    run = runner.invoke(app, ["forecast", "--config", str(out / "best_config.yaml"),
                              "--output", str(tmp_path / "run")])
    assert run.exit_code == 0, run.output
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert set(metrics["model"]) == {"lstm", "naive"}
    mase = metrics.query("model == 'lstm' and metric == 'mase'")["value"].mean()
    assert mase == pytest.approx(row["value"], rel=1e-6)  # same folds, same seed


@pytest.mark.parametrize(("args", "extra", "message"), [
    (["--trials", "0"], {}, "trials must be a positive number of trials, got 0"),
    (["--metric", "nope"], {}, "unknown metric 'nope' to tune on"),
    ([], {"search_space": {"hidden_size": []}}, "search_space.hidden_size has no choices"),
    ([], {"search_space": {"lr": {"low": 0.1, "high": 0.01}}}, "low (0.1) must be below"),
    ([], {"search_space": {"units": [8]}}, "unknown parameter 'units'"),
    ([], {"trails": 5}, "unknown config option(s) ['trails']"),
])
def test_tune_errors_name_the_value_and_the_fix(tmp_path: Path, args: list[str],
                                                extra: dict[str, Any], message: str) -> None:
    config = write_config(tmp_path, **extra)
    result = runner.invoke(app, ["tune", "--config", str(config), *args,
                                 "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def finished(db: Path) -> list[tuple[int, str, float]]:
    """(number, state, value) of the finished trials in an Optuna SQLite storage."""
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
        try:
            return connection.execute(
                "SELECT t.number, t.state, v.value FROM trials t LEFT JOIN trial_values v "
                "ON v.trial_id = t.trial_id WHERE t.state IN ('COMPLETE', 'PRUNED') "
                "ORDER BY t.number").fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


@pytest.mark.slow
def test_a_killed_search_resumes_its_study_on_rerun(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "tune.db"
    args = ["tune", "--config", str(config), "--trials", "12", "--storage", str(db),
            "--output", str(tmp_path / "out")]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    victim = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", *args], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while len(finished(db)) < 2:
            assert victim.poll() is None, "the search ended before it could be killed"
            assert time.monotonic() < deadline, "no 2 finished trials within 60 s"
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        victim.kill()
        victim.communicate()
    assert victim.returncode == -signal.SIGKILL
    before = finished(db)
    assert 2 <= len(before) < 12
    assert not (tmp_path / "out").exists()

    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    after = finished(db)
    assert len(after) == 12  # the requested total, counting the killed run's trials
    assert after[:len(before)] == before  # kept, same numbers and values
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert trials["state"].isin(["COMPLETE", "PRUNED"]).sum() == 12
    assert set(trials["number"]) >= {n for n, _, _ in before}
