"""`tune`: the search learns, prunes bad trials, resumes a stored study, saves its best."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from lstmkit.errors import ConfigError
from lstmkit.evaluation.backtest import backtest
from lstmkit.forecast_job import ForecastConfig
from lstmkit.tuning import TuningError, storage_url, tune

SPACE = {"lr": {"low": 1e-5, "high": 3e-2, "log": True}, "hidden_size": [2, 8, 16],
         "cell": ["lstm", "gru"]}


def test_on_fold_gets_each_folds_metrics_as_the_backtest_goes(base: dict[str, Any]) -> None:
    config = ForecastConfig.from_dict(base)
    seen: list[tuple[int, pd.DataFrame]] = []
    result = backtest(config.model(), config.load_data(), folds=2, fold_length=12, step=6,
                      baselines=["naive"], on_fold=lambda k, m: seen.append((k, m)))
    assert [k for k, _ in seen] == [0, 1]
    final = result.metrics[result.metrics["model"] == "lstm"].set_index(["fold", "metric"])
    for k, metrics in seen:
        assert set(metrics["model"]) == {"lstm"} and set(metrics["fold"]) == {k}
        for row in metrics.itertuples():
            assert row.value == pytest.approx(final.loc[(k, row.metric), "value"])


def test_search_beats_a_deliberately_bad_base_config(base: dict[str, Any],
                                                      tmp_path: Path) -> None:
    bad = {**base, "lr": 1e-5, "hidden_size": 2}  # barely moves in 2 epochs
    result = tune(bad, trials=5, startup_trials=5, search_space=SPACE, output=tmp_path / "out")
    table = result.trials
    assert list(table["number"]) == [0, 1, 2, 3, 4]
    assert (table["state"] == "COMPLETE").all()
    first = table.iloc[0]
    assert (first["lr"], first["hidden_size"], first["cell"]) == (1e-5, 2, "lstm")  # the base
    assert result.best_value < 0.5 * first["value"]
    assert result.best_trial != 0 and result.best_config.lr > 1e-3
    assert result.best_value == pytest.approx(table["value"].min())
    assert table.loc[result.best_trial, ["fold_0", "fold_1"]].mean() == pytest.approx(
        result.best_value)
    assert (table["seconds"] > 0).all()


def test_best_config_yaml_round_trips_and_reproduces_the_cv_value(
        base: dict[str, Any], tmp_path: Path) -> None:
    result = tune(base, trials=3, startup_trials=3, search_space={**SPACE, "cell": "gru"},
                  output=tmp_path / "out")
    path = tmp_path / "out" / "best_config.yaml"
    assert path.read_text().startswith("# Best of 3 finished trials")
    loaded = ForecastConfig.from_yaml(path)
    assert loaded == result.best_config
    best = result.trials.set_index("number").loc[result.best_trial]
    assert loaded.lr == best["lr"] and loaded.hidden_size == best["hidden_size"]
    assert loaded.cell == "gru" and loaded.horizon == 6 and loaded.data == base["data"]
    assert loaded.baselines == "all"  # the base config's own options are kept
    again = backtest(loaded.model(), loaded.load_data(), folds=2, fold_length=12, step=6,
                     baselines=[])
    mase = again.metrics.query("metric == 'mase'")["value"].mean()
    assert mase == pytest.approx(result.best_value, rel=1e-6)
    saved = pd.read_csv(tmp_path / "out" / "trials.csv")
    assert list(saved.columns) == ["number", "state", "value", "lr", "hidden_size", "fold_0",
                                   "fold_1", "seconds", "error"]
    assert yaml.safe_load(path.read_text())["lr"] == best["lr"]


def test_a_clearly_bad_trial_is_pruned_after_its_first_fold(base: dict[str, Any]) -> None:
    good = {"lr": 1e-2, "hidden_size": 8, "cell": "lstm"}
    bad = {"lr": 1e-5, "hidden_size": 2, "cell": "lstm"}
    result = tune(base, trials=3, startup_trials=2, search_space=SPACE, start_from_base=False,
                  enqueue=[good, {**good, "cell": "gru"}, bad])
    table = result.trials.set_index("number")
    assert list(table["state"]) == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert np.isnan(table.loc[2, "fold_1"])  # stopped before its second fold trained
    assert table.loc[2, "fold_0"] > table.loc[[0, 1], "fold_0"].max()
    unpruned = tune(base, trials=3, startup_trials=2, search_space=SPACE,
                    start_from_base=False, prune=False,
                    enqueue=[good, {**good, "cell": "gru"}, bad])
    assert list(unpruned.trials["state"]) == ["COMPLETE"] * 3


def test_a_stored_study_resumes_and_keeps_its_trials(base: dict[str, Any],
                                                     tmp_path: Path) -> None:
    db = tmp_path / "tune.db"
    first = tune(base, trials=2, startup_trials=1, search_space=SPACE, storage=db)
    assert first.storage == f"sqlite:///{db.resolve()}"
    second = tune(base, trials=4, startup_trials=1, search_space=SPACE, storage=db)
    assert second.study_name == first.study_name
    assert len(second.trials) == 4
    kept = second.trials.head(2)[["number", "state", "value"]]
    pd.testing.assert_frame_equal(kept, first.trials[["number", "state", "value"]])
    same = tune(base, trials=4, startup_trials=1, search_space=SPACE, storage=db)
    assert len(same.trials) == 4  # budget reached: nothing more runs


def test_a_named_study_with_another_setup_is_refused(base: dict[str, Any],
                                                     tmp_path: Path) -> None:
    db = tmp_path / "tune.db"
    tune(base, trials=1, search_space=SPACE, storage=db, study_name="energy")
    with pytest.raises(TuningError, match=r"differs in \['forecast.horizon'\].*--study-name"):
        tune({**base, "horizon": 3}, trials=2, search_space=SPACE, storage=db,
             study_name="energy")
    other = tune({**base, "horizon": 3}, trials=1, search_space=SPACE, storage=db)
    assert other.study_name.startswith("lstmkit-")  # named after its own setup


def test_storage_paths_become_sqlite_urls(tmp_path: Path) -> None:
    assert storage_url(tmp_path / "a" / "t.db") == f"sqlite:///{tmp_path / 'a' / 't.db'}"
    assert (tmp_path / "a").is_dir()
    assert storage_url("postgresql://host/db") == "postgresql://host/db"


def test_no_completed_trial_is_an_error_that_says_why(base: dict[str, Any]) -> None:
    with pytest.raises(TuningError, match="no trial of study .* completed.*series has 300 rows"):
        tune(base, trials=2, search_space={"lookback": [400]})


@pytest.mark.parametrize(("options", "message"), [
    ({"trials": 0}, "trials must be a positive number of trials, got 0; e.g. --trials 20"),
    ({"trials": -3}, "got -3"),
    ({"timeout": 0}, "timeout must be a positive number of seconds"),
    ({"startup_trials": -1}, "startup_trials must be an integer >= 0"),
    ({"metric": "accuracy"}, "unknown metric 'accuracy' to tune on; choose one of"),
    ({"metric": "pinball"}, "pinball needs likelihood"),
    ({"search_space": {"hidden_size": []}}, "search_space.hidden_size has no choices"),
])
def test_bad_options_fail_before_any_training(base: dict[str, Any], options: dict[str, Any],
                                              message: str) -> None:
    with pytest.raises(ConfigError) as info:
        tune(base, **options)
    assert message in str(info.value)


def test_an_output_that_is_a_file_fails_before_the_search(base: dict[str, Any],
                                                          tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        tune(base, trials=1, output=tmp_path / "taken")
