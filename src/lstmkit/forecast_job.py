"""The forecasting job behind `lstmkit forecast` / `backtest`: one config, one output folder.

`ForecastConfig` holds every option (YAML round trip); `run_forecast` backtests the LSTM
against the baselines, writes metrics.csv, forecasts.csv and report.html, then (unless
`backtest_only`) trains on all the data, saves the model and forecasts the future.

Market data: with `tickers`, the data (a long price table such as the ``stocks`` dataset)
becomes the business-day frame of the first ticker built by
`lstmkit.features.market.market_frame` (target e.g. ``logreturn``, the indicators and the
related tickers' returns as past covariates), optionally joined with a dated `sentiment`
CSV; `trading_cost_bps` adds a long/flat strategy backtest of the one-step forecasts
(``trading.csv``). The baselines ``zero`` and ``ridge_covariates`` are run on the
backtest's folds by `lstmkit.evaluation.covariate_baselines`, the others by `backtest`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from lstmkit import io
from lstmkit.data import datasets
from lstmkit.data.loading import SeriesFrame, load_series
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.backtest import BacktestResult, backtest
from lstmkit.evaluation.covariate_baselines import add_covariate_baselines, split_baselines
from lstmkit.evaluation.metrics import DEFAULT_METRICS
from lstmkit.evaluation.trading import fold_trading_metrics, trading_table
from lstmkit.features import market
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.nn._checks import check_positive_int

CONFIG_FILE = "config.yaml"
RETURN_KINDS = ("log", "simple")
FEDERATED_KEYS = ("clients", "rounds", "local_epochs", "aggregation", "proximal_mu",
                  "server_momentum", "dp")


@dataclass
class ForecastConfig:
    """Everything a forecasting run needs; field names match the CLI options."""

    data: str | None = None  # CSV/Parquet path
    dataset: str | None = None  # or a bundled dataset name
    time_col: str = "ds"
    target: str = "y"
    id_col: str | None = None
    series: list[str] | None = None  # keep only these series ids (of id_col)
    freq: str | None = None
    fill_gaps: str | None = None
    impute: str | None = None  # ffill/zero are causal; interpolate/mean read later values
    future: str | None = None  # CSV of known-future covariates for the final forecast
    # model
    horizon: int = 1
    lookback: int = 96
    strategy: str = "direct"
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 2
    dropout: float = 0.0
    attention: str | None = None
    seasonal_lags: list[int] | str = "auto"
    past_covariates: list[str] = field(default_factory=list)
    future_covariates: list[str] = field(default_factory=list)
    calendar: bool | list[str] = True
    fourier: dict[float, int] = field(default_factory=dict)
    scaler: str = "standard"
    target_transform: str | None = None
    window_norm: str | None = None  # center or standard: per-window normalisation
    decoder_states: str = "last"  # last, aligned or both: encoder states the decoder reads
    window_loss: bool = False  # loss in each window's standardised units
    loss: str = "mae"
    likelihood: str | None = None  # quantile or gaussian: prediction intervals
    quantiles: list[float] = field(default_factory=lambda: [0.1, 0.5, 0.9])
    calibrate_intervals: bool | str = False  # True/"validation" or "recent"
    calibration_window: int = 14
    max_epochs: int = 20
    max_steps: int | None = None  # optimizer steps; replaces max_epochs when set
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.1
    train_stride: int = 1
    partial_windows: bool = False  # also train on windows running past the last row, masked
    sampling: str = "epochs"  # or random: each batch's windows drawn with replacement
    ema_decay: float | None = None  # forecast with a moving average of the weights
    precision: str = "float32"  # or bfloat16: mixed-precision training (autocast)
    ensemble: int = 1  # networks trained with their own seeds, forecasts averaged
    n_jobs: int = 1  # ensemble members trained at once, in forked processes
    seed: int = 0
    # federated training (lstmkit.federated): clients, rounds, local_epochs, aggregation
    # (fedavg, fedprox, scaffold), proximal_mu, server_momentum, dp {clip_norm, epsilon,
    # delta}; absent: centralised
    federated: dict[str, Any] | None = None
    # backtest
    folds: int = 4
    fold_length: int | None = None
    step: int | None = None
    gap: int = 0
    window: str = "expanding"
    train_size: int | None = None
    refit: bool = True
    fold_jobs: int = 1  # backtest folds trained at once, in forked processes of one thread
    baselines: list[str] | str = "all"
    season: int | None = None
    seasonalities: list[int] | None = None
    baseline_max_train: int | None = None
    metrics: list[str] | None = None  # None: MAE, RMSE, MAPE, sMAPE, MASE, R², direction
    backtest_only: bool = False
    start: str | None = None  # keep rows from this time on (market indicators see earlier)
    end: str | None = None  # keep rows up to this time
    # market data: the first ticker is forecast, the others are related assets
    tickers: list[str] = field(default_factory=list)
    indicators: dict[str, Any] | None = None  # indicator spec; None: DEFAULT_INDICATORS
    price_col: str = "adj_close"
    volume_col: str = "volume"
    sentiment: str | None = None  # CSV: dates in the first column, values -> past covariates
    trading_cost_bps: float | None = None  # long/flat backtest of one-step return forecasts
    trading_returns: str = "log"  # the target is a "log" or "simple" return

    def __post_init__(self) -> None:
        if (self.data is None) == (self.dataset is None):
            raise ConfigError("give exactly one of a data file (DATA) or --dataset NAME")
        for name in ("start", "end"):  # YAML reads an unquoted 2011-01-03 as a date
            if isinstance(getattr(self, name), datetime.date):
                setattr(self, name, getattr(self, name).isoformat())
        if self.trading_returns not in RETURN_KINDS:
            raise ConfigError(f"trading_returns must be one of {list(RETURN_KINDS)}, got "
                              f"{self.trading_returns!r}")
        if self.trading_cost_bps is not None and self.horizon != 1:
            raise ConfigError(
                f"trading_cost_bps scores one-step forecasts of one series; got horizon="
                f"{self.horizon}: set horizon 1 (or drop trading_cost_bps)")
        if self.federated is not None:
            if not isinstance(self.federated, dict):
                raise ConfigError(f"federated must be a mapping of options "
                                  f"{list(FEDERATED_KEYS)}, got {self.federated!r}")
            unknown = sorted(set(self.federated) - set(FEDERATED_KEYS))
            if unknown:
                raise ConfigError(f"unknown federated option(s) {unknown}; valid: "
                                  f"{list(FEDERATED_KEYS)}")
        check_positive_int(self.fold_jobs, "fold_jobs (backtest folds trained at once)")
        if self.fold_jobs > 1 and self.federated is not None:
            raise ConfigError("fold_jobs forks a process per fold, and a federated model trains "
                              "in Flower's simulation, which runs processes of its own: set "
                              "fold_jobs to 1 (or drop the federated block)")
        if self.sentiment is not None and not self.tickers:
            raise ConfigError("sentiment joins a dated series to market data; give tickers "
                              "too, or add the series to the data as a past covariate")

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> ForecastConfig:
        """Read a YAML file; `overrides` (not None) win over its values."""
        return cls.from_dict(merged_config(path, overrides))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ForecastConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config option(s) {unknown}; valid: {sorted(known)}")
        values = dict(values)
        if values.get("fourier"):
            values["fourier"] = parse_fourier(values["fourier"])
        if values.get("baselines") in ("none", [], ["none"]):
            values["baselines"] = []
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["fourier"] = {float(p): int(k) for p, k in self.fourier.items()}
        return out

    def model(self) -> LSTMForecaster:
        """The forecaster these options describe (a FederatedForecaster with `federated`)."""
        if self.federated is not None:
            from lstmkit.federated import FederatedForecaster

            return FederatedForecaster(**self.federated, **self.model_params())
        return LSTMForecaster(**self.model_params())

    def model_params(self) -> dict[str, Any]:
        """The LSTMForecaster arguments of these options."""
        return dict(
            lookback=self.lookback, horizon=self.horizon, strategy=self.strategy,
            hidden_size=self.hidden_size, num_layers=self.num_layers, cell=self.cell,
            dropout=self.dropout, attention=self.attention, seasonal_lags=self.seasonal_lags,
            past_covariates=self.covariates(), future_covariates=self.future_covariates,
            calendar=self.calendar, fourier=self.fourier or None, scaler=self.scaler,
            target_transform=self.target_transform, window_norm=self.window_norm,
            decoder_states=self.decoder_states, window_loss=self.window_loss,
            loss=self.loss, likelihood=self.likelihood, quantiles=self.quantiles,
            calibrate_intervals=self.calibrate_intervals,
            calibration_window=self.calibration_window,
            max_epochs=self.max_epochs, max_steps=self.max_steps, batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay, validation_fraction=self.validation_fraction,
            train_stride=self.train_stride, partial_windows=self.partial_windows,
            sampling=self.sampling, ema_decay=self.ema_decay, precision=self.precision,
            ensemble=self.ensemble, n_jobs=self.n_jobs, seed=self.seed, progress=False,
        )

    def covariates(self) -> list[str]:
        """Past covariates: as given; for market data left empty, every built feature."""
        if self.past_covariates or not self.tickers:
            return list(self.past_covariates)
        names = market.market_columns(self.tickers, self.indicators, sentiment=self.sentiment)
        return [n for n in names if n != self.target]

    def load_data(self) -> SeriesFrame:
        """The validated series (file, bundled dataset or market frame), within start/end."""
        source: Any = self.data
        if self.tickers:
            source = self.market_frame()
        elif self.dataset is not None:
            source = datasets.load(self.dataset)
        covariates = self.covariates() + list(self.future_covariates)
        series = load_series(source, time_col=self.time_col, target=self.target,
                             id_col=None if self.tickers else self.id_col,
                             covariates=covariates, freq=self.freq or (
                                 "B" if self.tickers else None),
                             fill_gaps=self.fill_gaps, impute=self.impute)
        return self._within_dates(self._chosen_series(series))

    def market_frame(self) -> pd.DataFrame:
        """The business-day frame of the first ticker, with the sentiment columns joined
        (see `lstmkit.features.market.market_frame`)."""
        return market.market_frame(
            self.tickers, data=self.data, dataset=self.dataset, indicators=self.indicators,
            price=self.price_col, volume=self.volume_col, id_col=self.id_col or "ticker",
            time_col=self.time_col, sentiment=self.sentiment)

    def _chosen_series(self, series: SeriesFrame) -> SeriesFrame:
        if self.series is None:
            return series
        wanted = [str(s) for s in self.series]
        missing = sorted(set(wanted) - set(series.ids))
        if not wanted or missing:
            raise ConfigError(f"series {missing or wanted} not in the data (id column "
                              f"{self.id_col!r}); it holds {len(series.ids)} series, e.g. "
                              f"{list(series.ids[:5])}")
        frame = series.frame[series.frame["unique_id"].isin(wanted)].reset_index(drop=True)
        return dataclasses.replace(series, frame=frame)

    def _within_dates(self, series: SeriesFrame) -> SeriesFrame:
        if self.start is None and self.end is None:
            return series
        ds = series.frame["ds"]
        try:
            keep = ((ds >= pd.Timestamp(self.start)) if self.start else True) & (
                (ds <= pd.Timestamp(self.end)) if self.end else True)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"start/end must be dates such as 2010-01-04, got "
                              f"start={self.start!r}, end={self.end!r}: {err}") from None
        frame = series.frame[np.asarray(keep, dtype=bool)].reset_index(drop=True)
        if frame.empty:
            raise DataValidationError(
                f"no rows between start={self.start} and end={self.end}; the data runs from "
                f"{ds.min()} to {ds.max()}")
        return dataclasses.replace(series, frame=frame)


def merged_config(path: str | Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The option mapping of a YAML config file (none: empty) with `overrides` that are not
    None on top."""
    loaded: Any = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read config {path}: {err}") from err
        if not isinstance(loaded, dict):
            raise ConfigError(f"config {path} must be a mapping of option: value")
    return {**loaded, **{k: v for k, v in overrides.items() if v is not None}}


def run_forecast(config: ForecastConfig, output: str | Path,
                 say: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Backtest, report, then train on everything, save and forecast; returns a summary."""
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    series = config.load_data()
    future = _future_frame(config)  # read and checked before any training
    say(f"data: {len(series.frame):,} rows, {len(series.ids)} series, frequency {series.freq}")
    started = time.perf_counter()
    library, own = split_baselines(config.baselines)
    metrics = tuple(config.metrics or (*DEFAULT_METRICS, "directional_accuracy"))
    result = backtest(
        config.model(), series, folds=config.folds, fold_length=config.fold_length,
        step=config.step, gap=config.gap, window=config.window, train_size=config.train_size,
        refit=config.refit, baselines=library, season=config.season,
        seasonalities=config.seasonalities, baseline_max_train=config.baseline_max_train,
        metrics=metrics, on_progress=say, n_jobs=config.fold_jobs,
    )
    result = add_covariate_baselines(result, series, own, config.horizon, metrics)
    if config.trading_cost_bps is not None:
        per_fold = fold_trading_metrics(result.forecasts, cost_bps=config.trading_cost_bps,
                                        log_returns=config.trading_returns == "log")
        result = dataclasses.replace(result, metrics=pd.concat([result.metrics, per_fold],
                                                               ignore_index=True))
    backtest_seconds = time.perf_counter() - started
    write_results(result, series, config, out)
    summary: dict[str, Any] = {"output": str(out), "table": result.table(),
                               "backtest_seconds": backtest_seconds, "seconds": result.seconds}
    if config.trading_cost_bps is not None:
        trading = trading_table(result.forecasts, cost_bps=config.trading_cost_bps,
                                log_returns=config.trading_returns == "log")
        trading.to_csv(out / "trading.csv", index=False)
        summary["trading"] = trading
    if config.backtest_only:
        return summary
    say("training the final model on all the data")
    model = config.model().fit(series)
    io.save(model, out / "model", extra={"job_config": config.to_dict()})
    summary["model_path"] = str(out / "model")
    if config.federated is not None:  # rounds, chosen round, clients, privacy spent
        (out / "federation.json").write_text(json.dumps(model.federation_, indent=2),
                                             encoding="utf-8")
        summary["federation_path"] = str(out / "federation.json")
    if config.future_covariates and future is None:
        summary["future_note"] = (
            f"no future forecast: the model uses known-future covariates "
            f"{config.future_covariates}; pass --future FILE with their values for the next "
            f"{config.horizon} steps")
    else:
        forecast = model.predict(future=future)
        forecast.to_csv(out / "forecast.csv", index=model.id_col_ is None)
        summary["forecast_path"] = str(out / "forecast.csv")
    return summary


def write_results(result: BacktestResult, series: SeriesFrame, config: ForecastConfig,
                  out: Path) -> None:
    """config.yaml, metrics.csv, forecasts.csv and report.html in `out`."""
    (out / CONFIG_FILE).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False),
                                   encoding="utf-8")
    result.metrics.to_csv(out / "metrics.csv", index=False)
    forecasts = result.forecasts.rename(columns={"ds": "time"})
    columns = ["time", "fold", "model", "actual", "forecast", "unique_id", "origin", "step"]
    columns += [c for c in forecasts.columns if c.startswith("q") and c[1:2].isdigit()]
    forecasts[columns].to_csv(out / "forecasts.csv", index=False)
    frame = series.frame
    summary = {
        "rows": f"{len(frame):,}",
        "series": len(series.ids),
        "period": f"{frame['ds'].min()} to {frame['ds'].max()}",
        "frequency": series.freq,
        "target": series.target,
        "covariates": ", ".join(series.covariates) or "none",
        "notes": "; ".join(series.notes) or "none",
    }
    title = f"{config.dataset or Path(config.data or '').name}: {config.target}, " \
            f"horizon {config.horizon}"
    result.report(out / "report.html", title=title, data_summary=summary,
                  config=json.loads(json.dumps(config.to_dict(), default=str)))


def parse_fourier(value: Any) -> dict[float, int]:
    """{period: order} from a mapping or from "PERIOD:ORDER" strings such as "48:3"."""
    items = value.items() if isinstance(value, dict) else (
        str(item).partition(":")[::2] for item in value)
    out = {}
    for period, order in items:
        try:
            out[float(period)] = int(order or 1)
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"fourier takes PERIOD:ORDER such as 48:3 (or a mapping 48: 3), got "
                f"{period!r}:{order!r}") from err
    return out


def _future_frame(config: ForecastConfig) -> pd.DataFrame | None:
    if config.future is None:
        return None
    try:
        frame = pd.read_csv(config.future)
    except (OSError, ValueError) as err:
        raise DataValidationError(f"cannot read --future {config.future}: {err}") from err
    needed = [config.time_col, *([config.id_col] if config.id_col else []),
              *config.future_covariates]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"--future {config.future} is missing column(s) {missing}; it needs {needed}")
    return frame
