"""Walk-forward backtest of a forecaster against classical baselines on the same folds.

For every fold the forecaster is trained on the rows before the fold (or reused, see
`refit`), then forecasts every origin of the fold from the data observed before that origin;
each baseline is fitted on the same training rows and forecasts the same origins. All models
are scored with the same metrics, per fold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.data.loading import SeriesFrame, load_series
from lstmkit.errors import ConfigError
from lstmkit.evaluation.baselines import backtest_baselines, make_baselines
from lstmkit.evaluation.compare import comparison_table, score_forecasts
from lstmkit.evaluation.fold_fits import fit_each
from lstmkit.evaluation.metrics import DEFAULT_METRICS
from lstmkit.evaluation.probabilistic import (
    crps_quantiles,
    interval_coverage,
    interval_width,
    pinball_loss,
)
from lstmkit.evaluation.splits import Fold, walk_forward
from lstmkit.models.forecast_design import default_seasonal_lags
from lstmkit.models.forecaster import LSTMForecaster

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
FoldCallback = Callable[[int, pd.DataFrame], None]


@dataclass
class BacktestResult:
    """Forecasts, per-fold metrics and training curves of one backtest."""

    forecasts: pd.DataFrame  # unique_id, fold, origin, step, ds, model, forecast, actual
    metrics: pd.DataFrame  # model, fold, metric, value (mean over series)
    folds: dict[str, list[Fold]]
    history: pd.DataFrame  # fold, epoch, train_loss, val_loss
    seconds: dict[str, float]
    season: int
    settings: dict[str, Any] = field(default_factory=dict)

    def table(self, rank_by: Sequence[str] = ("mase", "mae")) -> pd.DataFrame:
        """One row per model: mean and std of every metric across folds, ranked."""
        return comparison_table(self.metrics, rank_by=rank_by)

    def report(self, path: str | Path, *, title: str = "Backtest",
               data_summary: dict[str, Any] | None = None,
               config: dict[str, Any] | None = None) -> Path:
        """Write the self-contained HTML report."""
        from lstmkit.report import write_report

        return write_report(
            path, title=title, metrics=self.metrics, forecasts=self.forecasts,
            history=self.history if not self.history.empty else None,
            data_summary=data_summary, config={**self.settings, **(config or {})},
        )


def backtest(
    model: LSTMForecaster | None,
    data: Any,
    *,
    target: str = "y",
    time_col: str = "ds",
    id_col: str | None = None,
    freq: str | None = None,
    folds: int = 4,
    fold_length: int | None = None,
    step: int | None = None,
    gap: int = 0,
    window: str = "expanding",
    train_size: int | None = None,
    refit: bool | int = True,
    baselines: Sequence[str] | str = "all",
    season: int | None = None,
    seasonalities: Sequence[int] | None = None,
    horizon: int | None = None,
    baseline_max_train: int | None = None,
    metrics: Sequence[str] = (*DEFAULT_METRICS, "directional_accuracy"),
    on_progress: Progress | None = None,
    on_fold: FoldCallback | None = None,
    n_jobs: int = 1,
) -> BacktestResult:
    """Walk-forward backtest of `model` (None: baselines only) and `baselines`.

    Folds are `fold_length` steps each (default: the horizon), the last ending at the end of
    every series; origins inside a fold are `step` apart (default: the horizon). `refit`:
    True trains the model for every fold, False once on the first fold's training rows,
    an int k every k folds. `season` scales MASE and drives seasonal naive (default: the
    first seasonal lag of the frequency, e.g. 48 for half-hourly data); `seasonalities` feed
    MSTL (default: the frequency's seasonal lags). Statistical baselines are fitted on at
    most `baseline_max_train` trailing rows (default: 12 of the longest seasonal cycles).
    `on_fold(k, metrics)` is called after the model's fold k with that fold's metrics
    (model, fold, metric, value), before the next fold trains (e.g. to prune a search).
    `n_jobs` > 1 trains that many folds at once, each in a forked process of one thread
    (CPU; see `fit_each`): sooner on a few cores for a small network, with the forecasts of
    fitting the folds in turn on one thread; `on_fold` is then called once every fold is
    trained.
    """
    say = on_progress or (lambda message: None)
    series = _load(model, data, target, time_col, id_col, freq)
    if model is not None and horizon is not None and horizon != model.horizon:
        raise ConfigError(f"horizon={horizon} differs from the model's {model.horizon}; "
                          "leave horizon out when a model is given")
    horizon = model.horizon if model is not None else horizon
    if horizon is None:
        raise ConfigError("horizon is needed when no model is given")
    lags = default_seasonal_lags(series.freq)
    season = int(season or (lags[0] if lags else 1))
    seasonalities = tuple(seasonalities) if seasonalities is not None else lags
    max_train = baseline_max_train or (12 * max(seasonalities) if seasonalities else None)
    per_series = {uid: series.series(uid) for uid in series.ids}
    min_train = (model.lookback + model.lags_needed(series.freq) + horizon
                 if model is not None else 1)
    splits = {
        uid: walk_forward(len(frame), horizon=horizon, folds=folds, fold_length=fold_length,
                          step=step, gap=gap, window=window, train_size=train_size,
                          min_train=max(min_train, 2 * season))
        for uid, frame in per_series.items()
    }
    seconds: dict[str, float] = {}
    parts = []
    history = pd.DataFrame()
    if model is not None:
        say(f"training {type(model).__name__} for {folds} fold(s)")
        scored_fold = None if on_fold is None else (
            lambda k, part: on_fold(k, _score(part, per_series, splits, season, metrics)))
        lstm, history, seconds["lstm"] = _backtest_model(model, series, splits, refit, say,
                                                         scored_fold, n_jobs)
        parts.append(lstm)
    if not isinstance(baselines, str) and list(baselines) == ["all"]:
        baselines = "all"
    if baselines:
        chosen = make_baselines(baselines, season=season, seasonalities=seasonalities,
                                max_train=max_train)
        for uid, frame in per_series.items():
            say(f"baselines on {uid}: {', '.join(b.name for b in chosen)}")
            result = backtest_baselines(frame["y"].to_numpy(float), splits[uid], chosen,
                                        horizon)
            for name, sec in result.attrs["seconds"].items():
                seconds[name] = seconds.get(name, 0.0) + sec
            result.insert(0, "unique_id", uid)
            parts.append(result)
    forecasts = pd.concat(parts, ignore_index=True)
    metric_frame = _score(forecasts, per_series, splits, season, metrics)
    forecasts["ds"] = _times_at(forecasts, {u: f["ds"] for u, f in per_series.items()})
    settings = {"folds": folds, "fold_length": fold_length or horizon, "step": step or horizon,
                "gap": gap, "window": window, "refit": refit, "season": season,
                "seasonalities": list(seasonalities), "baseline_max_train": max_train}
    return BacktestResult(forecasts, metric_frame, splits, history, seconds, season, settings)


def _score(forecasts: pd.DataFrame, per_series: dict[str, pd.DataFrame],
           splits: dict[str, list[Fold]], season: int, metrics: Sequence[str]) -> pd.DataFrame:
    """Metrics (model, fold, metric, value) of backtest forecasts, mean over series."""
    scored = []
    for uid, frame in per_series.items():
        rows = forecasts[forecasts["unique_id"] == uid]
        scored.append(score_forecasts(rows, frame["y"].to_numpy(float), splits[uid],
                                      season=season, names=metrics))
        quantiles = score_quantiles(rows)
        if not quantiles.empty:
            scored.append(quantiles)
    return (pd.concat(scored).groupby(["model", "fold", "metric"], sort=False)["value"]
            .mean().reset_index())


def quantile_column(level: float) -> str:
    """Column of the forecasts frame holding the quantile forecast at `level`."""
    return f"q{level:g}"


def score_quantiles(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Pinball loss (mean over levels), CRPS (its quantile approximation), coverage and width
    of the outermost interval, per model and fold, for the rows that carry quantile columns
    (model, fold, metric, value)."""
    columns = sorted((c for c in forecasts.columns if c.startswith("q") and c[1:2].isdigit()),
                     key=lambda c: float(c[1:]))
    rows: list[tuple[str, int, str, float]] = []
    if not columns:
        return pd.DataFrame(rows, columns=["model", "fold", "metric", "value"])
    levels = [float(c[1:]) for c in columns]
    nominal = round(100 * (levels[-1] - levels[0]))
    for (model, fold), group in forecasts.dropna(subset=columns).groupby(["model", "fold"]):
        q = group[columns].to_numpy()
        actual = group["actual"].to_numpy()
        rows += [(model, fold, "pinball", pinball_loss(actual, q, levels)),
                 (model, fold, "crps", crps_quantiles(actual, q, levels)),
                 (model, fold, f"coverage_{nominal}",
                  interval_coverage(actual, q[:, 0], q[:, -1])),
                 (model, fold, f"width_{nominal}", interval_width(q[:, 0], q[:, -1]))]
    return pd.DataFrame(rows, columns=["model", "fold", "metric", "value"])


def _times_at(forecasts: pd.DataFrame, times: dict[str, pd.Series]) -> pd.Series:
    """Timestamp of every forecast row (vectorised per series; time zones kept)."""
    parts = []
    for uid, stamps in times.items():
        rows = forecasts.index[(forecasts["unique_id"] == uid).to_numpy()]
        picked = stamps.iloc[forecasts.loc[rows, "position"].to_numpy()]
        parts.append(pd.Series(picked.to_numpy(), index=rows))
    return pd.concat(parts).reindex(forecasts.index)


def _load(model: LSTMForecaster | None, data: Any, target: str, time_col: str,
          id_col: str | None, freq: str | None) -> SeriesFrame:
    if isinstance(data, SeriesFrame):
        return data
    covariates = [] if model is None else (list(model.past_covariates)
                                           + list(model.future_covariates))
    return load_series(data, time_col=time_col, target=target, id_col=id_col,
                       covariates=covariates, freq=freq)


def _backtest_model(model: LSTMForecaster, series: SeriesFrame, splits: dict[str, list[Fold]],
                    refit: bool | int, say: Progress,
                    on_fold: FoldCallback | None = None, n_jobs: int = 1,
                    ) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Fit per fold (per `refit`) on rows before the fold; forecast each fold's origins;
    `on_fold(k, forecasts)` gets each fold's forecasts as soon as they exist (with `n_jobs`
    > 1, once every fold is trained)."""
    n_folds = len(next(iter(splits.values())))
    every = 1 if refit is True else (n_folds if refit is False else int(refit))
    if every < 1:
        raise ConfigError(f"refit must be True, False or a positive int, got {refit!r}")
    frame = series.frame
    position = frame.groupby("unique_id", sort=False).cumcount().to_numpy()
    uid = frame["unique_id"]

    def training(k: int) -> SeriesFrame:
        start = uid.map({u: f[k].train_start for u, f in splits.items()}).to_numpy()
        end = uid.map({u: f[k].train_end for u, f in splits.items()}).to_numpy()
        rows = frame[(position >= start) & (position < end)].reset_index(drop=True)
        return SeriesFrame(rows, series.target, series.time_col, series.id_col, series.freq,
                           series.covariates)

    parts, curves = [], []
    started = time.perf_counter()
    trained = [k for k in range(n_folds) if k % every == 0]
    ready: dict[int, LSTMForecaster] = {}
    if n_jobs != 1 and len(trained) > 1:
        say(f"training {len(trained)} folds, {n_jobs} at a time in forked processes")
        fits = fit_each(model, [training(k) for k in trained], n_jobs,
                        [f"backtest fold {k + 1}/{n_folds}" for k in trained], "n_jobs")
        ready = dict(zip(trained, fits, strict=True))
    fitted: LSTMForecaster | None = None
    for k in range(n_folds):
        if k in trained:
            if k in ready:
                fitted = ready.pop(k)
            else:
                data = training(k)
                say(f"fold {k + 1}/{n_folds}: training on {len(data.frame):,} rows")
                fitted = fit_each(model, [data], n_jobs)[0]
            curve = pd.DataFrame({
                "fold": k, "epoch": np.arange(1, len(fitted.history_) + 1),
                "train_loss": fitted.history_.train_losses,
                "val_loss": [np.nan if v is None else v for v in fitted.history_.val_losses],
            })
            curves.append(curve)
        design = fitted.design(frame)
        origins = np.concatenate([design.segments[u][0] + splits[u][k].origins
                                  for u in design.segments])
        values = fitted.forecast_at(design, origins)
        steps = np.arange(1, model.horizon + 1)
        rows = origins[:, None] + steps - 1
        parts.append(pd.DataFrame({
            "unique_id": np.repeat(design.ids[origins], model.horizon),
            "fold": k,
            "origin": np.repeat(position[origins], model.horizon),
            "step": np.tile(steps, len(origins)),
            "position": position[rows.ravel()],
            "model": model.cell,
            "forecast": values.ravel(),
            "actual": frame["y"].to_numpy()[rows.ravel()],
        }))
        if fitted.likelihood is not None:
            bands = fitted.forecast_quantiles(design, origins)
            for j, level in enumerate(fitted.quantiles_):
                parts[-1][quantile_column(level)] = bands[..., j].ravel()
        if on_fold is not None:
            on_fold(k, parts[-1])
    seconds = time.perf_counter() - started
    return pd.concat(parts, ignore_index=True), pd.concat(curves, ignore_index=True), seconds
