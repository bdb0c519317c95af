"""What a search leaves behind: the trials table, the best config and their files."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
import yaml

from lstmkit.forecast_job import ForecastConfig
from lstmkit.tuning.objective import ERROR, FOLD_VALUES

BEST_CONFIG_FILE = "best_config.yaml"
TRIALS_FILE = "trials.csv"


@dataclass
class TuneResult:
    """The outcome of `tune`: the best forecast config, its CV value and every trial."""

    best_config: ForecastConfig
    best_value: float
    best_trial: int
    metric: str
    direction: str  # "minimize" or "maximize"
    trials: pd.DataFrame  # number, state, value, one column per parameter, fold_k, seconds, error
    study_name: str
    storage: str | None

    def top(self, n: int = 10) -> pd.DataFrame:
        """The `n` best complete trials, best first."""
        done = self.trials[self.trials["state"] == "COMPLETE"]
        return done.sort_values("value", ascending=self.direction == "minimize").head(n)

    def write(self, output: str | Path) -> dict[str, Path]:
        """best_config.yaml (a complete forecast config) and trials.csv in `output`."""
        out = Path(output)
        out.mkdir(parents=True, exist_ok=True)
        header = (f"# Best of {int(self.trials['state'].isin(['COMPLETE', 'PRUNED']).sum())} "
                  f"finished trials of study {self.study_name!r}: trial {self.best_trial}, "
                  f"walk-forward CV {self.metric} = {self.best_value:.6g}\n"
                  f"# Use it:  lstmkit forecast --config {out / BEST_CONFIG_FILE}\n")
        best = out / BEST_CONFIG_FILE
        best.write_text(header + yaml.safe_dump(self.best_config.to_dict(), sort_keys=False),
                        encoding="utf-8")
        table = out / TRIALS_FILE
        self.trials.to_csv(table, index=False)
        return {"best_config": best, "trials": table}


def trials_table(study: optuna.Study, params: list[str]) -> pd.DataFrame:
    """One row per trial: number, state, value, `params`, per-fold values, seconds, error."""
    rows, folds = [], 0
    for trial in study.get_trials(deepcopy=False):
        values = trial.user_attrs.get(FOLD_VALUES, [])
        folds = max(folds, len(values))
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() if (
            trial.datetime_complete is not None and trial.datetime_start is not None) else math.nan
        rows.append({
            "number": trial.number, "state": trial.state.name,
            "value": math.nan if trial.value is None else trial.value,
            **{name: trial.params.get(name) for name in params},
            **{f"fold_{k}": v for k, v in enumerate(values)},
            "seconds": seconds, "error": trial.user_attrs.get(ERROR, ""),
        })
    columns = ["number", "state", "value", *params, *(f"fold_{k}" for k in range(folds)),
               "seconds", "error"]
    return pd.DataFrame(rows, columns=columns)
