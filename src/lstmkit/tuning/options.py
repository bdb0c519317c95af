"""Tuning options and the YAML file that holds them next to the base forecast options.

A tuning YAML is a forecast config (any `ForecastConfig` option: data, target, horizon,
folds, ...) plus the options of `TuneOptions` (trials, metric, search_space, ...) at the
same level. The forecast options describe the base model and the folds every trial is
scored on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmkit.errors import ConfigError
from lstmkit.forecast_job import ForecastConfig, merged_config


@dataclass(frozen=True)
class TuneOptions:
    """How a search runs; field names match the `lstmkit tune` options."""

    trials: int = 20  # finished (complete or pruned) trials the study should reach
    timeout: float | None = None  # seconds; no new trial starts after that
    metric: str = "mase"
    storage: str | None = None  # SQLite file or database URL; None keeps the study in memory
    study_name: str | None = None  # default: derived from the data, base config and space
    search_space: dict[str, Any] | None = None  # None: the default space
    prune: bool = True  # stop trials worse than the median at the same fold
    startup_trials: int = 5  # random trials before TPE takes over and pruning starts
    start_from_base: bool = True  # first trial: the base config's values, if in the space

    def __post_init__(self) -> None:
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or self.trials < 1:
            raise ConfigError(
                f"trials must be a positive number of trials, got {self.trials!r}; "
                "e.g. --trials 20")
        if self.timeout is not None and (isinstance(self.timeout, bool) or not isinstance(
                self.timeout, int | float) or self.timeout <= 0):
            raise ConfigError(
                f"timeout must be a positive number of seconds, got {self.timeout!r}; "
                "leave it out for no time limit")
        if (isinstance(self.startup_trials, bool) or not isinstance(self.startup_trials, int)
                or self.startup_trials < 0):
            raise ConfigError(
                f"startup_trials must be an integer >= 0, got {self.startup_trials!r}")
        for name in ("prune", "start_from_base"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")


TUNE_FIELDS = tuple(f.name for f in dataclasses.fields(TuneOptions))


def split_options(values: dict[str, Any]) -> tuple[ForecastConfig, TuneOptions]:
    """Forecast config and tuning options from one flat mapping of both."""
    tune = {k: v for k, v in values.items() if k in TUNE_FIELDS}
    forecast = {k: v for k, v in values.items() if k not in TUNE_FIELDS}
    return ForecastConfig.from_dict(forecast), TuneOptions(**tune)


def read_tune_config(path: str | Path | None,
                     **overrides: Any) -> tuple[ForecastConfig, TuneOptions]:
    """Forecast config and tuning options from a YAML file; `overrides` (not None) win."""
    return split_options(merged_config(path, overrides))
