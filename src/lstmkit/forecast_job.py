"""The forecasting job behind `lstmkit forecast` / `backtest`: one config, one output folder.

`ForecastConfig` holds every option (YAML round trip); `run_forecast` backtests the LSTM
against the baselines, writes metrics.csv, forecasts.csv and report.html, then (unless
`backtest_only`) trains on all the data, saves the model and forecasts the future.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from lstmkit import io
from lstmkit.data import datasets
from lstmkit.data.loading import SeriesFrame, load_series
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.backtest import BacktestResult, backtest
from lstmkit.models.forecaster import LSTMForecaster

CONFIG_FILE = "config.yaml"


@dataclass
class ForecastConfig:
    """Everything a forecasting run needs; field names match the CLI options."""

    data: str | None = None  # CSV/Parquet path
    dataset: str | None = None  # or a bundled dataset name
    time_col: str = "ds"
    target: str = "y"
    id_col: str | None = None
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
    calendar: bool = True
    fourier: dict[float, int] = field(default_factory=dict)
    scaler: str = "standard"
    target_transform: str | None = None
    loss: str = "mae"
    likelihood: str | None = None  # quantile or gaussian: prediction intervals
    quantiles: list[float] = field(default_factory=lambda: [0.1, 0.5, 0.9])
    calibrate_intervals: bool | str = False  # True/"validation" or "recent"
    calibration_window: int = 14
    max_epochs: int = 20
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    validation_fraction: float = 0.1
    train_stride: int = 1
    seed: int = 0
    # backtest
    folds: int = 4
    fold_length: int | None = None
    step: int | None = None
    gap: int = 0
    window: str = "expanding"
    train_size: int | None = None
    refit: bool = True
    baselines: list[str] | str = "all"
    season: int | None = None
    seasonalities: list[int] | None = None
    baseline_max_train: int | None = None
    backtest_only: bool = False

    def __post_init__(self) -> None:
        if (self.data is None) == (self.dataset is None):
            raise ConfigError("give exactly one of a data file (DATA) or --dataset NAME")

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> ForecastConfig:
        """Read a YAML file; `overrides` (not None) win over its values."""
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read config {path}: {err}") from err
        if not isinstance(loaded, dict):
            raise ConfigError(f"config {path} must be a mapping of option: value")
        return cls.from_dict({**loaded, **{k: v for k, v in overrides.items() if v is not None}})

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
        """The forecaster these options describe."""
        return LSTMForecaster(
            lookback=self.lookback, horizon=self.horizon, strategy=self.strategy,
            hidden_size=self.hidden_size, num_layers=self.num_layers, cell=self.cell,
            dropout=self.dropout, attention=self.attention, seasonal_lags=self.seasonal_lags,
            past_covariates=self.past_covariates, future_covariates=self.future_covariates,
            calendar=self.calendar, fourier=self.fourier or None, scaler=self.scaler,
            target_transform=self.target_transform,
            loss=self.loss, likelihood=self.likelihood, quantiles=self.quantiles,
            calibrate_intervals=self.calibrate_intervals,
            calibration_window=self.calibration_window,
            max_epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, validation_fraction=self.validation_fraction,
            train_stride=self.train_stride, seed=self.seed, progress=False,
        )

    def load_data(self) -> SeriesFrame:
        """The validated series (file or bundled dataset)."""
        source: Any = self.data
        if self.dataset is not None:
            source = datasets.load(self.dataset)
        covariates = list(self.past_covariates) + list(self.future_covariates)
        return load_series(source, time_col=self.time_col, target=self.target,
                           id_col=self.id_col, covariates=covariates, freq=self.freq,
                           fill_gaps=self.fill_gaps, impute=self.impute)


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
    result = backtest(
        config.model(), series, folds=config.folds, fold_length=config.fold_length,
        step=config.step, gap=config.gap, window=config.window, train_size=config.train_size,
        refit=config.refit, baselines=config.baselines, season=config.season,
        seasonalities=config.seasonalities, baseline_max_train=config.baseline_max_train,
        on_progress=say,
    )
    backtest_seconds = time.perf_counter() - started
    write_results(result, series, config, out)
    summary: dict[str, Any] = {"output": str(out), "table": result.table(),
                               "backtest_seconds": backtest_seconds, "seconds": result.seconds}
    if config.backtest_only:
        return summary
    say("training the final model on all the data")
    model = config.model().fit(series)
    io.save(model, out / "model", extra={"job_config": config.to_dict()})
    summary["model_path"] = str(out / "model")
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
