"""statsforecast's classical references. Each origin: fit on the last `max_train_classical`
rows before it (refitted at every origin, as classical models usually are), then predict the
horizon. SeasonalNaive uses the dataset's short season (and, for `seasonal_naive_weekly`,
7 × it); AutoETS and AutoARIMA the short season; MSTL the short season and 7 × it with an
AutoETS trend."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from common import Task


class StatsForecastAdapter:
    """One statsforecast model; `fit` does nothing (fitting happens per origin in `predict`,
    and its time is reported as fit time through `fit_seconds`)."""

    scaled = False

    def __init__(self, task: Task, name: str) -> None:
        self.task = task
        self.name = name
        self.steps_done = 0
        self.fit_seconds = 0.0
        import statsforecast.models  # noqa: F401 - imported before the timed fit

    def _model(self):  # noqa: ANN202 - a statsforecast model
        from statsforecast.models import MSTL, AutoARIMA, AutoETS, SeasonalNaive

        m = self.task.season
        if self.name == "seasonal_naive":
            return SeasonalNaive(season_length=m)
        if self.name == "seasonal_naive_weekly":
            return SeasonalNaive(season_length=7 * m, alias="SeasonalNaiveWeekly")
        if self.name == "auto_ets":
            return AutoETS(season_length=m)
        if self.name == "auto_arima":
            return AutoARIMA(season_length=m)
        if self.name == "mstl":
            return MSTL(season_length=[m, 7 * m], trend_forecaster=AutoETS(model="ZZN"))
        raise ValueError(f"unknown statsforecast model {self.name!r}")

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Nothing to do: classical models are fitted at each origin."""

    def predict(self, y: np.ndarray, ds: pd.DatetimeIndex, origins: np.ndarray) -> np.ndarray:
        """Fit on the rows before each origin (capped), forecast the horizon."""
        from statsforecast import StatsForecast

        h, cap = self.task.net.horizon, self.task.max_train_classical
        out = []
        self.fit_seconds = 0.0
        for o in origins:
            start = max(0, int(o) - cap)
            df = pd.DataFrame({"unique_id": "s", "ds": np.arange(start, int(o)),
                               "y": y[start:int(o)]})
            sf = StatsForecast(models=[self._model()], freq=1, n_jobs=1)
            began = time.perf_counter()
            sf.fit(df)
            self.fit_seconds += time.perf_counter() - began
            pred = sf.predict(h=h)
            out.append(pred.drop(columns=["unique_id", "ds"]).iloc[:, 0].to_numpy("float64"))
        return np.stack(out)


def make(name: str, task: Task) -> StatsForecastAdapter:
    """The adapter for `run.py`."""
    return StatsForecastAdapter(task, name)
