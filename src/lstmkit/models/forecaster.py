"""`LSTMForecaster`: multi-step forecasts of one or many series, scikit-learn style.

    model = LSTMForecaster(lookback=96, horizon=48, past_covariates=["temperature"],
                           future_covariates=["workday"])
    model.fit(df, target="demand", time_col="ds")
    future = model.predict()          # horizon rows after the data, original units
    past = model.predict_at(df, ["2024-03-01", "2024-03-08"])  # forecasts from past cutoffs

Strategies: "direct" (one vector of `horizon` values per origin), "seq2seq" (a decoder
cell unrolled over the horizon, see `ForecastNet`) and "recursive" (a one-step model fed
its own forecasts).
Every strategy sees the target at its seasonal lags (e.g. the same half-hour yesterday and
last week) and the known-future covariates of the steps it predicts. Scalers are fitted on
the rows given to `fit` only. Training runs on the shared `Trainer`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from lstmkit import io
from lstmkit.data.loading import SeriesFrame, load_series
from lstmkit.data.transforms import LogTransform
from lstmkit.data.window_dataset import WindowDataset
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.models.base import BaseEstimator
from lstmkit.models.forecast_design import (
    Design,
    DesignSpec,
    Scalers,
    build_design,
    check_covariates,
    default_calendar,
    default_seasonal_lags,
    encoder_size,
    fit_scalers,
    step_size,
)
from lstmkit.nn.distribution import (
    GaussianNLLLoss,
    KnownTargetsLoss,
    PinballLoss,
    check_quantiles,
    gaussian_parameters,
    head_width,
)
from lstmkit.nn.forecast_ensemble import ForecastEnsemble, member_seed
from lstmkit.nn.forecast_net import (
    ForecastNet,
    WindowUnits,
    WindowUnitsLoss,
    check_decoder_states,
    check_window_norm,
)
from lstmkit.training import TrainingHistory
from lstmkit.training.forked import check_forkable, run_forked
from lstmkit.training.trainer import resolve_device

logger = logging.getLogger(__name__)

STRATEGIES = ("direct", "recursive", "seq2seq")
TRANSFORMS = (None, "log", "log1p")
LOSSES = {"mae": nn.L1Loss, "mse": nn.MSELoss, "huber": nn.HuberLoss}


@dataclass
class Prepared:
    """What `LSTMForecaster._prepare` builds from the training rows."""

    spec: DesignSpec
    scalers: Scalers
    design: Design
    train: np.ndarray
    val: np.ndarray | None
    network: nn.Module  # a ForecastNet, or a ForecastEnsemble of them
    train_end: np.ndarray | None = None  # per training origin: rows known (partial_windows)


@io.register_model("lstm-forecaster")
class LSTMForecaster(BaseEstimator):
    """LSTM (or GRU / peephole) forecaster with seasonal lags, covariates and calendar terms.

    Args:
        lookback: observed steps the encoder reads before each forecast origin.
        horizon: steps forecast from each origin.
        strategy: "direct", "recursive" or "seq2seq".
        seasonal_lags: lags of the target given to every step ("auto": a day and a week for
            sub-daily data, a week for daily, a year for monthly data). Direct and seq2seq
            models only use lags >= horizon, whose values are known at the origin.
        past_covariates: columns observed up to the origin only (e.g. measured temperature).
        future_covariates: columns known for the forecast steps too (e.g. a work-day flag).
        calendar: True ("auto" features for the frequency; the yearly ones only from two
            years of training data on), False, or feature names.
        fourier: {period in steps: number of sin/cos pairs}.
        scaler: "standard", "minmax", "robust" or "none", per series, fitted in `fit`.
        target_transform: None, "log" or "log1p": applied to the target before scaling and
            inverted exactly on the forecasts (for positive series with growing variance).
        window_norm: None, "center" or "standard": normalise the target and its seasonal
            lags in every window by the window's own mean ("center") or mean and standard
            deviation ("standard") over the lookback, and invert that on the forecast. The
            network learns the shape around the local level and amplitude, so a trend that
            leaves the training range does not leave the network's (RevIN-style).
            "standard" works with point and quantile forecasts.
        decoder_states: (direct strategy) which encoder states the per-step decoder reads:
            "last" (the final state, and a learned embedding of the step number), "aligned"
            (for step k of the horizon, the state k steps after the one `horizon` steps
            before the origin, as NeuralForecast's LSTM decodes) or "both". "aligned" and
            "both" need lookback >= horizon.
        window_loss: with window_norm="standard", measure the training loss in each window's
            own standardised units, so every window weighs the same (NeuralForecast's loss);
            otherwise windows with larger swings weigh more.
        loss: "mae", "mse" or "huber" (point forecasts).
        likelihood: None (point forecasts), "quantile" (pinball loss over `quantiles`,
            monotone) or "gaussian" (negative log-likelihood); direct strategy only. `predict`
            then adds one column per quantile level.
        quantiles: levels of the quantile forecasts (must include 0.5, the point forecast).
        calibrate_intervals: conformal adjustment of the outermost quantiles.
            True (or "validation"): per-step split-conformal offsets (conformalized quantile
            regression) fitted once on the validation windows; it assumes those windows are
            exchangeable with the future. "recent": at every origin, the offset comes from
            the model's own forecasts at the `calibration_window` previous origins (spaced
            one horizon apart) whose actuals are already observed, so the intervals follow
            changes in volatility. False: the raw quantiles.
        calibration_window: past origins used by calibrate_intervals="recent".
        max_steps: a budget of optimizer steps (batches) that replaces `max_epochs` (see
            `TrainerConfig`); the learning-rate schedule then runs over the steps.
        validation_fraction: last part of every series' training windows held out for early
            stopping and restoring the best weights (0 disables).
        train_stride: use every n-th training window (neighbouring windows overlap heavily).
        partial_windows: also train on the windows whose horizon runs past the last training
            row (or the first validation target), on the steps they have, the loss masking
            the rest: the latest rows then count as targets at every step of the horizon,
            not only at the last (NeuralForecast trains this way). Direct and seq2seq.
        sampling: "epochs" (every training window once per epoch) or "random" (each batch's
            windows drawn at random with replacement, as NeuralForecast draws them; see
            `TrainerConfig`).
        ema_decay: keep a moving average of the weights over the optimizer steps (e.g.
            0.99) and forecast with it (see `TrainerConfig`): steadier models from run to run.
        precision: "float32", or "bfloat16" to train in mixed precision (see `TrainerConfig`):
            faster on hardware with bfloat16 arithmetic; forecasts are computed in float32.
        ensemble: networks trained independently, each from its own initial weights and
            with its own seed (the first with `seed`), that forecast together: the mean of
            their point forecasts and quantiles (the moment-matched mixture for
            likelihood="gaussian"); the recursive strategy feeds that mean back at every
            step. Less run-to-run spread and usually lower error, for `ensemble` times the
            training work. `history_` is the first member's, `member_histories_` all.
        n_jobs: ensemble members trained at once, in forked worker processes of one thread
            each (CPU, Linux/macOS; 1 trains them one after another here, on this process's
            threads). Small networks use many threads poorly, so members side by side finish
            sooner.
    """

    fits_in_forked_workers: ClassVar[bool] = True  # `fit_each` may fit copies side by side

    def __init__(
        self,
        lookback: int = 96,
        horizon: int = 1,
        strategy: str = "direct",
        hidden_size: int = 64,
        num_layers: int = 2,
        cell: str = "lstm",
        dropout: float = 0.0,
        attention: str | None = None,
        seasonal_lags: Sequence[int] | str = "auto",
        past_covariates: Sequence[str] = (),
        future_covariates: Sequence[str] = (),
        calendar: bool | Sequence[str] = True,
        fourier: Mapping[float, int] | None = None,
        scaler: str = "standard",
        target_transform: str | None = None,
        window_norm: str | None = None,
        decoder_states: str = "last",
        window_loss: bool = False,
        loss: str = "mae",
        likelihood: str | None = None,
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        calibrate_intervals: bool | str = False,
        calibration_window: int = 14,
        max_epochs: int = 20,
        max_steps: int | None = None,
        batch_size: int = 256,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        clip_norm: float | None = 1.0,
        lr_schedule: str = "cosine",
        early_stopping_patience: int | None = None,
        validation_fraction: float = 0.1,
        train_stride: int = 1,
        partial_windows: bool = False,
        sampling: str = "epochs",
        ema_decay: float | None = None,
        seed: int = 0,
        device: str = "auto",
        precision: str = "float32",
        progress: bool | None = None,
        ensemble: int = 1,
        n_jobs: int = 1,
    ) -> None:
        self.lookback = lookback
        self.horizon = horizon
        self.strategy = strategy
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.dropout = dropout
        self.attention = attention
        self.seasonal_lags = seasonal_lags
        self.past_covariates = past_covariates
        self.future_covariates = future_covariates
        self.calendar = calendar
        self.fourier = fourier
        self.scaler = scaler
        self.target_transform = target_transform
        self.window_norm = window_norm
        self.decoder_states = decoder_states
        self.window_loss = window_loss
        self.loss = loss
        self.likelihood = likelihood
        self.quantiles = quantiles
        self.calibrate_intervals = calibrate_intervals
        self.calibration_window = calibration_window
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.lr_schedule = lr_schedule
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.train_stride = train_stride
        self.partial_windows = partial_windows
        self.sampling = sampling
        self.ema_decay = ema_decay
        self.seed = seed
        self.device = device
        self.precision = precision
        self.progress = progress
        self.ensemble = ensemble
        self.n_jobs = n_jobs

    # -- scikit-learn API -----------------------------------------------------------------

    def fit(self, data: Any, *, target: str = "y", time_col: str = "ds",
            id_col: str | None = None, freq: str | None = None) -> LSTMForecaster:
        """Train on every row of `data` (a DataFrame, CSV/Parquet path or `SeriesFrame`)."""
        self._check_params()
        series = self._load(data, target, time_col, id_col, freq, fitting=True)
        p = self._prepare(series)
        histories = self._train(p)
        self._set_fitted(series, p.spec, p.scalers, p.network, *histories)
        if (self.likelihood is not None and self.calibrate_intervals in (True, "validation")
                and p.val is not None):
            self.interval_offsets_ = self._conformal_offsets(p.design, p.val)
        return self

    def _prepare(self, series: SeriesFrame) -> Prepared:
        """Spec, scalers fitted on `series`, features, training/validation origins and a
        fresh network: everything training needs, from these rows only."""
        spec = self._spec(series)
        check_covariates(series.frame, spec)
        frame = self._transformed(series.frame)
        scalers = fit_scalers(frame, spec, self.scaler)
        design = build_design(frame, spec, scalers)
        train, val = self._training_origins(design, spec)
        train_end = None
        if self.partial_windows and self._net_horizon > 1:
            train, train_end = self._partial_origins(design, spec, val)
        if len(train) == 0:
            raise DataValidationError(
                f"validation_fraction={self.validation_fraction} leaves no training window: "
                f"the {len(val)} validation window(s) and the horizon before them take every "
                f"row after lookback {self.lookback} + seasonal lag {spec.max_lag}; lengths "
                f"are {_lengths(design)}. Give more rows, a shorter lookback or fewer "
                f"seasonal lags, or set validation_fraction=0")
        return Prepared(spec, scalers, design, train, val, self._network(spec, series.frame),
                        train_end)

    def _train(self, p: Prepared) -> list[TrainingHistory]:
        """Train every network of `p` (one, or each ensemble member with its own seed), in
        place; their histories."""
        val_set = self._windows(p.design, p.val) if p.val is not None else None
        train_set = self.training_windows(p)
        members = list(p.network.members) if isinstance(p.network, ForecastEnsemble) else [
            p.network]
        forked = self.n_jobs > 1 and len(members) > 1

        def train(index: int) -> TrainingHistory:
            trainer = self._trainer(val_set is not None, max_steps=self.max_steps,
                                    ema_decay=self.ema_decay, sampling=self.sampling,
                                    seed=member_seed(self.seed, index),
                                    **({"progress": False} if forked else {}))
            net, loss = members[index], self._loss()
            if self.window_loss:
                net, loss = WindowUnits(net), WindowUnitsLoss(loss)
            return trainer.fit(net, train_set, val_set, loss)

        if not forked:
            return [train(i) for i in range(len(members))]
        check_forkable(self.n_jobs, resolve_device(self.device))
        def run(index: int) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
            history = train(index)  # in a forked worker: hand back weights and history
            return members[index].state_dict(), history.to_dict()

        runs = [partial(run, i) for i in range(len(members))]
        results = run_forked(runs, self.n_jobs, "ensemble member")
        for member, (weights, _) in zip(members, results, strict=True):
            member.load_state_dict(weights)
        return [TrainingHistory.from_dict(history) for _, history in results]

    def _set_fitted(self, series: SeriesFrame, spec: DesignSpec, scalers: Scalers,
                    network: nn.Module, *histories: TrainingHistory) -> None:
        """Become the fitted model of `series` (no conformal offsets yet); `histories`: one
        per network, `history_` the first's."""
        self.spec_, self.scalers_, self.network_ = spec, scalers, network
        self.history_, self.member_histories_ = histories[0], list(histories)
        self.quantiles_ = check_quantiles(self.quantiles)
        self.interval_offsets_ = None
        self.target_, self.time_col_, self.id_col_ = series.target, series.time_col, series.id_col
        self.context_ = self._context(series.frame, spec)

    def predict(self, data: Any = None, *, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast `horizon` steps after the end of `data` (default: the training data).

        `future` holds the known-future covariates for those steps (time column, the
        covariates, and the id column for many series). Returns a DataFrame indexed by time
        with the target's name as column (one series), or columns id, time, target (many).
        """
        self._check_fitted()
        frame = self.context_ if data is None else self.load_data(data).frame
        extended = self._append_future(frame, future)
        design = self.design(extended)
        origins = np.array([stop - self.horizon for _, stop in design.segments.values()])
        self._check_history(design, origins)
        values = self.forecast_at(design, origins)
        out = self._to_frame(design, origins, values)
        if self.likelihood is not None:
            bands = self.forecast_quantiles(design, origins)
            for k, q in enumerate(self.quantiles_):
                out[f"{self.target_}_q{q:g}"] = bands[..., k].reshape(-1)
        return out

    def predict_at(self, data: Any, cutoffs: Any, *,
                   future: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast `horizon` steps after each of many cutoffs of `data`, in one batched call.

        A cutoff is the time of the last row a forecast reads (as in NeuralForecast's
        ``cutoff``): the forecast covers the `horizon` steps after it and reads the target
        and past-only covariates up to the cutoff only, and the known-future covariates and
        calendar terms of the steps it predicts. `cutoffs` is a time or a list of times (each
        used for every series), or a mapping {series id: time or list of times}. Steps past
        the end of `data` take their known-future covariates from `future` (as in `predict`).

        Returns a DataFrame sorted by series, cutoff and step with columns: the id column
        (many series), ``cutoff``, the time column (the forecast time), ``step`` (1 ..
        horizon), the target (the point forecast) and, for probabilistic models, one column
        ``<target>_q<level>`` per quantile. The last cutoff of each series gives `predict`.
        """
        self._check_fitted()
        frame = self.load_data(data).frame
        wanted = self._cutoff_rows(frame, cutoffs)
        self._check_cutoff_history(frame, wanted)
        length = frame.groupby("unique_id", sort=False).size()[wanted["unique_id"]].to_numpy()
        wanted["past_end"] = wanted["position"] + 1 + self.horizon - length
        late = wanted[wanted["past_end"] > 0]
        if not late.empty:
            if self.spec_.future_covariates and future is None:
                first = late.iloc[0]
                raise DataValidationError(
                    f"cutoff {first['ds']} of series {first['unique_id']!r}: its horizon runs "
                    f"{first['past_end']} step(s) past the end of the data and the model uses "
                    f"known-future covariates {list(self.spec_.future_covariates)}; pass "
                    f"future=DataFrame with them for those steps, or an earlier cutoff")
            frame = self._append_future(
                frame, future, late.groupby("unique_id")["past_end"].max().to_dict())
        design = self.design(frame)
        first = np.array([design.segments[u][0] for u in wanted["unique_id"]], dtype=np.int64)
        origins = first + wanted["position"].to_numpy() + 1  # rows of the first forecast steps
        values = self.forecast_at(design, origins)
        steps = origins[:, None] + np.arange(self.horizon)
        out = pd.DataFrame({
            "cutoff": np.repeat(design.times[origins - 1], self.horizon),
            self.time_col_: design.times[steps.reshape(-1)],
            "step": np.tile(np.arange(1, self.horizon + 1), len(origins)),
            self.target_: values.reshape(-1),
        })
        if self.id_col_ is not None:
            out.insert(0, self.id_col_, design.ids[steps.reshape(-1)])
        if self.likelihood is not None:
            bands = self.forecast_quantiles(design, origins)
            for k, q in enumerate(self.quantiles_):
                out[f"{self.target_}_q{q:g}"] = bands[..., k].reshape(-1)
        return out

    def load_data(self, data: Any) -> SeriesFrame:
        """`data` (DataFrame, CSV/Parquet path or `SeriesFrame`) loaded and validated as the
        model was fitted: time column, target, id column, frequency and covariates."""
        self._check_fitted()
        series = self._load(data, self.target_, self.time_col_, self.id_col_,
                            self.spec_.freq, fitting=False)
        check_covariates(series.frame, self.spec_)
        return series

    def design(self, frame: pd.DataFrame) -> Design:
        """Feature arrays of a long frame (unique_id, ds, y, covariates) for this model,
        sorted by unique_id then ds."""
        self._check_fitted()
        keys = frame[["unique_id", "ds"]]
        if not keys.equals(keys.sort_values(["unique_id", "ds"], kind="stable")):
            raise DataValidationError("design needs rows sorted by unique_id then ds")
        return build_design(self._transformed(frame), self.spec_, self.scalers_)

    def forecast_at(self, design: Design, origins: np.ndarray) -> np.ndarray:
        """Point forecasts (len(origins), horizon) in original units at rows `origins` of
        `design` (the median or mean of a probabilistic model)."""
        raw = self._network_outputs(design, origins)
        if self.likelihood == "quantile":
            raw = raw[..., list(self.quantiles_).index(0.5)]
        elif self.likelihood == "gaussian":
            raw = raw[..., 0]
        return self._to_original(raw, design.ids[origins])

    def forecast_quantiles(self, design: Design, origins: np.ndarray) -> np.ndarray:
        """Quantile forecasts (len(origins), horizon, len(quantiles)) in original units, at
        the levels `quantiles` (from the Gaussian for likelihood="gaussian"); the outermost
        pair widened by the conformal offsets fitted on the validation windows."""
        if self.likelihood is None:
            raise ConfigError("quantile forecasts need likelihood='quantile' or 'gaussian'")
        q = self._scaled_quantiles(design, origins)
        if self.calibrate_intervals == "recent":
            q = _widen(q, self._recent_offsets(design, origins)[:, None])
        else:
            q = self._calibrated(q)
        ids = design.ids[origins]
        return np.stack([self._to_original(q[..., k], ids) for k in range(q.shape[-1])],
                        axis=-1)

    def _scaled_quantiles(self, design: Design, origins: np.ndarray) -> np.ndarray:
        raw = self._network_outputs(design, origins)
        if self.likelihood == "gaussian":
            mean, std = gaussian_parameters(torch.from_numpy(raw))
            z = torch.distributions.Normal(0.0, 1.0).icdf(
                torch.tensor(self.quantiles_, dtype=torch.float64))
            raw = (mean[..., None] + std[..., None] * z).numpy()
        return raw

    def _calibrated(self, q: np.ndarray) -> np.ndarray:
        """Widen (or narrow) the outermost quantiles by the per-step validation offsets."""
        offsets = getattr(self, "interval_offsets_", None)
        return q if offsets is None else _widen(q, offsets)

    def _recent_offsets(self, design: Design, origins: np.ndarray) -> np.ndarray:
        """(n,) conformal offsets from the forecasts at the previous origins o - k*horizon
        (k = 1..calibration_window) that lie inside the series; actuals all before o."""
        K, H = self.calibration_window, self.horizon
        past = origins[:, None] - H * np.arange(1, K + 1)  # (n, K)
        starts = np.array([design.segments[str(u)][0] for u in design.ids[origins]])
        valid = past - starts[:, None] >= self.lookback + self.spec_.max_lag
        if not valid.any():
            return np.zeros(len(origins))
        q = self._scaled_quantiles(design, past[valid])
        y = design.target[past[valid][:, None] + np.arange(H)]
        scores = np.full((len(origins), K, H), np.nan)
        scores[valid] = np.maximum(q[..., 0] - y, y - q[..., -1])
        flat = scores.reshape(len(origins), -1)
        count = np.sum(~np.isnan(flat), axis=1)
        coverage = self.quantiles_[-1] - self.quantiles_[0]
        level = np.minimum(1.0, np.ceil((count + 1) * coverage) / np.maximum(count, 1))
        offsets = np.array([np.nanquantile(row, lv, method="higher") if c else 0.0
                            for row, lv, c in zip(flat, level, count, strict=True)])
        return offsets

    def _conformal_offsets(self, design: Design, origins: np.ndarray) -> np.ndarray:
        """Split-conformal (CQR) offsets per step from held-out windows: the
        ceil((n+1)(1-a))/n empirical quantile of max(lo - y, y - hi), in scaled units."""
        q = self._scaled_quantiles(design, origins)
        y = design.target[origins[:, None] + np.arange(self.horizon)]
        scores = np.maximum(q[..., 0] - y, y - q[..., -1])  # (n, horizon)
        coverage = self.quantiles_[-1] - self.quantiles_[0]
        level = min(1.0, np.ceil((len(scores) + 1) * coverage) / len(scores))
        return np.quantile(scores, level, axis=0, method="higher")

    def _network_outputs(self, design: Design, origins: np.ndarray) -> np.ndarray:
        """Raw network outputs at `origins`, scaled space: (n, horizon[, width])."""
        self._check_fitted()
        origins = np.asarray(origins, dtype=np.int64)
        self._check_origins(design, origins)
        net = self.network_
        was_training = net.training
        net.eval()
        out = []
        windows = None if self.strategy == "recursive" else self._windows(design, origins)
        try:
            with torch.no_grad():
                for start in range(0, len(origins), 1024):
                    if windows is None:
                        out.append(self._recursive(design, origins[start:start + 1024]))
                    else:
                        enc, step, _ = windows.__getitems__(range(start, min(start + 1024,
                                                                             len(origins))))
                        out.append(net(enc, step).double().numpy())
        finally:
            net.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, self.horizon))

    def _to_original(self, scaled: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """(n, horizon) scaled values of the series `ids` (n,) -> original units."""
        n = len(scaled)
        values = self.scalers_.target.inverse_transform(
            scaled.reshape(-1), np.repeat(ids, self.horizon))
        return self._inverse_transformed(values).reshape(n, self.horizon)

    # -- persistence hooks (lstmkit.io) ---------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-able)."""
        config = super().get_config()
        for key in ("seasonal_lags", "past_covariates", "future_covariates", "calendar",
                    "quantiles"):
            if isinstance(config[key], tuple | list):
                config[key] = list(config[key])
        if config["fourier"] is not None:
            config["fourier"] = {str(p): int(k) for p, k in config["fourier"].items()}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LSTMForecaster:
        config = dict(config)
        if config.get("fourier") is not None:
            config["fourier"] = {float(p): int(k) for p, k in config["fourier"].items()}
        return cls(**config)

    def get_extra(self) -> dict[str, Any]:
        context = self.context_.copy()
        zone = context["ds"].dt.tz
        context["ds"] = (context["ds"].dt.tz_convert("UTC").dt.tz_localize(None) if zone
                         else context["ds"]).astype("int64")
        return {
            "spec": self.spec_.to_dict(),
            "scalers": _jsonable(self.scalers_.state()),
            "target": self.target_,
            "time_col": self.time_col_,
            "id_col": self.id_col_,
            "context": context.to_dict(orient="list"),
            "time_zone": None if zone is None else str(zone),
            "history": self.history_.to_dict(),
            "member_histories": [h.to_dict() for h in self.member_histories_[1:]],
            "interval_offsets": None if self.interval_offsets_ is None
            else [float(v) for v in self.interval_offsets_],
        }

    def set_extra(self, extra: dict[str, Any]) -> None:
        self.spec_ = DesignSpec.from_dict(extra["spec"])
        self.scalers_ = Scalers.from_state(extra["scalers"])
        self.target_, self.time_col_ = extra["target"], extra["time_col"]
        self.id_col_ = extra["id_col"]
        context = pd.DataFrame(extra["context"])
        context["ds"] = pd.to_datetime(context["ds"].astype("int64"))
        if extra.get("time_zone"):
            context["ds"] = context["ds"].dt.tz_localize("UTC").dt.tz_convert(extra["time_zone"])
        context["unique_id"] = context["unique_id"].astype(str)
        self.context_ = context
        self.history_ = TrainingHistory.from_dict(extra["history"])
        self.member_histories_ = [self.history_] + [
            TrainingHistory.from_dict(h) for h in extra.get("member_histories", [])]
        self.quantiles_ = check_quantiles(self.quantiles)
        offsets = extra.get("interval_offsets")
        self.interval_offsets_ = None if offsets is None else np.array(offsets)
        self.network_ = self._network(self.spec_, context)

    # -- internals ------------------------------------------------------------------------

    @property
    def _net_horizon(self) -> int:
        return 1 if self.strategy == "recursive" else self.horizon

    def _check_params(self) -> None:
        for name in ("lookback", "horizon", "hidden_size", "num_layers", "max_epochs",
                     "batch_size", "train_stride", "ensemble", "n_jobs"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.max_steps is not None and (not isinstance(self.max_steps, int | np.integer)
                                           or isinstance(self.max_steps, bool)
                                           or self.max_steps < 1):
            raise ConfigError(f"max_steps must be None or a positive integer, got "
                              f"{self.max_steps!r}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.target_transform not in TRANSFORMS:
            raise ConfigError(
                f"target_transform must be one of {TRANSFORMS}, got {self.target_transform!r}")
        check_window_norm(self.window_norm, self.likelihood)
        for name in ("window_loss", "partial_windows"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}")
        check_decoder_states(self.decoder_states)
        if self.decoder_states != "last" and (self.strategy != "direct"
                                              or self.lookback < self.horizon):
            raise ConfigError(
                f"decoder_states={self.decoder_states!r} needs strategy='direct' and lookback "
                f">= horizon, got strategy={self.strategy!r}, lookback {self.lookback}, "
                f"horizon {self.horizon}")
        if self.window_loss and self.window_norm != "standard":
            raise ConfigError("window_loss=True measures the loss in units of each window's "
                              f"standard deviation: it needs window_norm='standard', got "
                              f"{self.window_norm!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {tuple(LOSSES)}, got {self.loss!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ConfigError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}")
        both = set(self.past_covariates) & set(self.future_covariates)
        if both:
            raise ConfigError(
                f"covariate(s) {sorted(both)} declared both past-only and known-future; choose "
                "one: past-only if its future values are unknown at forecast time")
        if self.calibrate_intervals not in (False, True, "validation", "recent"):
            raise ConfigError("calibrate_intervals must be False, True/'validation' or "
                              f"'recent', got {self.calibrate_intervals!r}")
        if self.likelihood is not None:
            head_width(self.likelihood, self.quantiles)
            check_quantiles(self.quantiles)
            if self.strategy != "direct":
                raise ConfigError("likelihood='quantile' or 'gaussian' needs strategy='direct'")
        if self.strategy == "recursive" and self.attention is not None:
            raise ConfigError("attention is available for the direct and seq2seq strategies")

    def _load(self, data: Any, target: str, time_col: str, id_col: str | None,
              freq: str | None, *, fitting: bool) -> SeriesFrame:
        if isinstance(data, SeriesFrame):
            return data
        covariates = list(self.past_covariates) + list(self.future_covariates)
        need = self.lookback + self.lags_needed(freq) + (self.horizon if fitting else 0)
        return load_series(
            data, time_col=time_col, target=target, id_col=id_col, covariates=covariates,
            freq=freq, min_length=need,
            min_length_reason=f"lookback {self.lookback} + largest seasonal lag "
                              f"{self.lags_needed(freq)}" + (f" + horizon {self.horizon}"
                                                             if fitting else ""),
        )

    def lags_needed(self, freq: str | None) -> int:
        """Largest seasonal lag used at frequency `freq` (0 when unknown yet)."""
        if isinstance(self.seasonal_lags, str):
            lags = default_seasonal_lags(freq) if freq else ()
        else:
            lags = tuple(self.seasonal_lags)
        return max((m for m in lags if m >= self._net_horizon), default=0)

    def _spec(self, series: SeriesFrame) -> DesignSpec:
        if self.seasonal_lags == "auto":
            lags = default_seasonal_lags(series.freq)
        elif isinstance(self.seasonal_lags, str):
            raise ConfigError(
                f"seasonal_lags must be 'auto' or a list of ints, got {self.seasonal_lags!r}")
        else:
            lags = tuple(int(m) for m in self.seasonal_lags)
        if any(m < 1 for m in lags):
            raise ConfigError(f"seasonal_lags must be positive, got {list(lags)}")
        usable = tuple(m for m in lags if m >= self._net_horizon)
        if usable != lags:
            logger.info("seasonal lags %s are shorter than the horizon and not used",
                        sorted(set(lags) - set(usable)))
        if self.calendar is True:
            times = series.frame["ds"]
            calendar = default_calendar(series.freq, times.max() - times.min())
        elif self.calendar is False:
            calendar = ()
        elif not isinstance(self.calendar, list | tuple):
            raise ConfigError(
                f"calendar must be True, False or a list of feature names such as "
                f"['hour', 'dayofweek'], got {self.calendar!r}")
        else:
            calendar = tuple(self.calendar)
        return DesignSpec(
            freq=series.freq,
            seasonal_lags=usable,
            past_covariates=tuple(self.past_covariates),
            future_covariates=tuple(self.future_covariates),
            calendar=calendar,
            fourier={float(p): int(k) for p, k in (self.fourier or {}).items()},
        )

    def _training_origins(self, design: Design, spec: DesignSpec
                          ) -> tuple[np.ndarray, np.ndarray | None]:
        origins = design.origins(self.lookback, self._net_horizon, spec.max_lag)
        if len(origins) == 0:
            raise DataValidationError(
                f"no training window fits: every series needs at least lookback "
                f"{self.lookback} + seasonal lag {spec.max_lag} + horizon {self._net_horizon} "
                f"rows; lengths are {_lengths(design)}")
        if not self.validation_fraction:
            return origins[:: self.train_stride], None
        uid = design.ids[origins]
        position = pd.Series(origins).groupby(uid).rank(pct=True).to_numpy()
        is_val = position > 1 - self.validation_fraction
        if is_val.all() or not is_val.any():
            raise DataValidationError(
                f"validation_fraction={self.validation_fraction} leaves no windows for "
                f"{'training' if is_val.all() else 'validation'} ({len(origins)} windows)")
        # the horizon after the last training origin must not reach the validation targets
        gap = self._net_horizon
        train = origins[~is_val]
        val_start = pd.Series(origins[is_val]).groupby(uid[is_val]).min()
        keep = train + gap <= val_start.reindex(design.ids[train]).fillna(np.inf).to_numpy()
        return train[keep][:: self.train_stride], origins[is_val]

    def _partial_origins(self, design: Design, spec: DesignSpec, val: np.ndarray | None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Training origins up to one row before each series' known end (its first
        validation target, else its last row + 1), and that end per origin."""
        first_val = {} if val is None else (
            pd.Series(val).groupby(design.ids[val]).min().to_dict())
        uids = list(design.segments)
        known_end = np.array([first_val.get(u, design.segments[u][1]) for u in uids],
                             dtype=np.int64)  # absolute row, per series
        end = {u: int(e) - design.segments[u][0] for u, e in zip(uids, known_end, strict=True)}
        origins = design.origins(self.lookback, 1, spec.max_lag, end=end)[:: self.train_stride]
        return origins, known_end[pd.Index(uids).get_indexer(design.ids[origins])]

    def training_windows(self, p: Prepared) -> WindowDataset:
        """The training windows of `p` (partial ones masked past their known rows)."""
        return WindowDataset(p.design.encoder, p.design.step, _filled(p.design), p.train,
                             self.lookback, self._net_horizon, target_end=p.train_end)

    def _network(self, spec: DesignSpec, frame: pd.DataFrame) -> nn.Module:
        """A fresh ForecastNet, or a ForecastEnsemble of `ensemble` of them, each initialised
        from its member seed."""
        members = []
        for index in range(self.ensemble):
            torch.manual_seed(member_seed(self.seed, index))
            members.append(self._member_network(spec, frame))
        return members[0] if self.ensemble == 1 else ForecastEnsemble(members, self.likelihood)

    def _member_network(self, spec: DesignSpec, frame: pd.DataFrame) -> ForecastNet:
        n_known = spec.known_columns(frame["ds"].iloc[:1]).shape[1]
        return ForecastNet(
            encoder_size(spec, n_known), step_size(spec, n_known), self._net_horizon,
            self.hidden_size, self.num_layers, cell=self.cell, dropout=self.dropout,
            strategy="seq2seq" if self.strategy == "seq2seq" else "direct",
            attention=self.attention, likelihood=self.likelihood,
            quantiles=check_quantiles(self.quantiles) if self.likelihood else (),
            window_norm=self.window_norm, target_lags=len(spec.seasonal_lags),
            decoder_states=self.decoder_states,
        )

    def _loss(self) -> nn.Module:
        if self.likelihood == "quantile":
            loss: nn.Module = PinballLoss(self.quantiles)
        elif self.likelihood == "gaussian":
            loss = GaussianNLLLoss()
        else:
            loss = LOSSES[self.loss]()
        return KnownTargetsLoss(loss) if self.partial_windows else loss


    def _windows(self, design: Design, origins: np.ndarray) -> WindowDataset:
        return WindowDataset(design.encoder, design.step, _filled(design), origins,
                             self.lookback, self._net_horizon)

    def _context(self, frame: pd.DataFrame, spec: DesignSpec) -> pd.DataFrame:
        keep = self.lookback + spec.max_lag
        return frame.groupby("unique_id", sort=False).tail(keep).reset_index(drop=True)

    def _append_future(self, frame: pd.DataFrame, future: pd.DataFrame | None,
                       steps: Mapping[str, int] | None = None) -> pd.DataFrame:
        """Add rows after the end of the series: NaN target, past covariates held at their
        last value, known-future covariates from `future`; `steps[id]` rows to the series in
        `steps` (default: `horizon` rows to every series)."""
        freq = self.spec_.freq
        last = frame.groupby("unique_id", sort=False).tail(1)
        if steps is not None:
            last = last[last["unique_id"].isin(list(steps))]
        rows = []
        for _, row in last.iterrows():  # one row per series
            count = self.horizon if steps is None else steps[row["unique_id"]]
            times = pd.date_range(row["ds"], periods=count + 1, freq=freq)[1:]
            block = pd.DataFrame({"unique_id": row["unique_id"], "ds": times, "y": np.nan})
            for col in self.spec_.past_covariates:
                block[col] = row[col]
            rows.append(block)
        ahead = pd.concat(rows, ignore_index=True)
        if self.spec_.future_covariates:
            ahead = self._merge_future(ahead, future)
        extended = pd.concat([frame, ahead], ignore_index=True)
        return extended.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)

    def _merge_future(self, ahead: pd.DataFrame, future: pd.DataFrame | None) -> pd.DataFrame:
        needed = list(self.spec_.future_covariates)
        if future is None:
            raise DataValidationError(
                f"the model uses known-future covariates {needed}: pass future=DataFrame with "
                f"columns {self.time_col_!r}, {needed} for the steps {ahead['ds'].min()} .. "
                f"{ahead['ds'].max()}")
        keys = [self.time_col_] + ([self.id_col_] if self.id_col_ else [])
        missing = [c for c in keys + needed if c not in future.columns]
        if missing:
            raise DataValidationError(
                f"future is missing column(s) {missing}; it needs {keys + needed}")
        given = future[keys + needed].rename(columns={self.time_col_: "ds"})
        given["ds"] = _as_times_like(given["ds"], ahead["ds"])
        if self.id_col_:
            given = given.rename(columns={self.id_col_: "unique_id"})
            given["unique_id"] = given["unique_id"].astype(str)
        else:
            given["unique_id"] = ahead["unique_id"].iloc[0]
        doubled = given[given.duplicated(["unique_id", "ds"], keep=False)]
        if not doubled.empty:
            raise DataValidationError(
                f"future has {len(doubled)} rows sharing a timestamp, first "
                f"{doubled['ds'].iloc[0]}; give one row per step (and series)")
        merged = ahead.merge(given, on=["unique_id", "ds"], how="left")
        gaps = merged[merged[needed].isna().any(axis=1)]
        if not gaps.empty:
            raise DataValidationError(
                f"future has no (or NaN) {needed} for {len(gaps)} forecast step(s), first "
                f"{gaps['ds'].iloc[0]} of series {gaps['unique_id'].iloc[0]!r}; give every "
                f"step from {ahead['ds'].min()} to {ahead['ds'].max()}")
        return merged

    def _check_origins(self, design: Design, origins: np.ndarray) -> None:
        """Every origin has its lookback and lags inside its own series, and room for the
        horizon (rows that exist, known or not)."""
        if len(origins) == 0:
            return
        if origins.min() < 0 or origins.max() >= len(design.ids):
            raise DataValidationError(
                f"origins must be rows 0..{len(design.ids) - 1} of the design")
        bounds = np.array(list(design.segments.values()))  # (series, 2), in row order
        segment = np.searchsorted(bounds[:, 0], origins, side="right") - 1
        starts, stops = bounds[segment, 0], bounds[segment, 1]
        need = self.lookback + self.spec_.max_lag
        bad = (origins - starts < need) | (origins + self.horizon > stops)
        if bad.any():
            o = int(origins[bad][0])
            raise DataValidationError(
                f"origin row {o} of series {design.ids[o]!r} needs {need} rows before it "
                f"(lookback + seasonal lag) and {self.horizon} rows from it within its series")

    def _check_history(self, design: Design, origins: np.ndarray) -> None:
        need = self.lookback + self.spec_.max_lag
        for (uid, (start, _)), origin in zip(design.segments.items(), origins, strict=True):
            if origin - start < need:
                raise DataValidationError(
                    f"series {uid!r} has {origin - start} rows; forecasting needs the last "
                    f"{need} (lookback {self.lookback} + seasonal lag {self.spec_.max_lag})")

    def _cutoff_rows(self, frame: pd.DataFrame, cutoffs: Any) -> pd.DataFrame:
        """unique_id, ds (the cutoff), row of `frame` and position in its series of every
        cutoff given to `predict_at`, once each, in row order."""
        ids = frame["unique_id"].unique()  # str
        if isinstance(cutoffs, Mapping):
            known = set(ids)
            unknown = [k for k in cutoffs if str(k) not in known]
            if unknown:
                raise DataValidationError(
                    f"cutoffs name series {unknown[:5]} that are not in the data; series are "
                    f"{list(ids)[:10]}")
            keys = [str(k) for k, v in cutoffs.items() for _ in _as_list(v)]
            times = _cutoff_times([t for v in cutoffs.values() for t in _as_list(v)],
                                  frame["ds"])
        else:  # every time for every series
            given = _cutoff_times(_as_list(cutoffs), frame["ds"])
            keys = np.repeat(ids, len(given))
            times = given[np.tile(np.arange(len(given)), len(ids))]
        wanted = pd.DataFrame({"unique_id": keys, "ds": times})
        rows = frame[["unique_id", "ds"]].assign(
            row=np.arange(len(frame)), position=frame.groupby("unique_id", sort=False).cumcount())
        found = wanted.drop_duplicates().merge(rows, on=["unique_id", "ds"], how="left")
        missing = found[found["row"].isna()]
        if not missing.empty:
            uid, when = missing.iloc[0][["unique_id", "ds"]]
            times = frame.loc[frame["unique_id"] == uid, "ds"]
            raise DataValidationError(
                f"cutoff {when} is not a time of series {uid!r}, which runs {times.iloc[0]} .. "
                f"{times.iloc[-1]} every {self.spec_.freq}; give the time of the last row each "
                "forecast may read")
        found = found.astype({"row": np.int64, "position": np.int64})
        return found.sort_values("row").reset_index(drop=True)

    def _check_cutoff_history(self, frame: pd.DataFrame, wanted: pd.DataFrame) -> None:
        need = self.lookback + self.spec_.max_lag
        short = wanted[wanted["position"] + 1 < need]
        if not short.empty:
            bad = short.iloc[0]
            earliest = frame["ds"].iloc[bad["row"] - bad["position"] + need - 1]
            raise DataValidationError(
                f"cutoff {bad['ds']} of series {bad['unique_id']!r} has {bad['position'] + 1} "
                f"rows up to it; the model reads {need} (lookback {self.lookback} + seasonal "
                f"lag {self.spec_.max_lag}): the earliest possible cutoff is {earliest}")

    def _to_frame(self, design: Design, origins: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        steps = origins[:, None] + np.arange(self.horizon)
        times = design.times[steps.reshape(-1)]
        if self.id_col_ is None:
            return pd.DataFrame({self.target_: values.reshape(-1)},
                                index=pd.DatetimeIndex(times, name=self.time_col_))
        return pd.DataFrame({
            self.id_col_: design.ids[steps.reshape(-1)],
            self.time_col_: times,
            self.target_: values.reshape(-1),
        })

    def _recursive(self, design: Design, origins: np.ndarray) -> np.ndarray:
        """Feed one-step forecasts back as the target (and its lags) for `horizon` steps.

        Past-only covariates are held at their last observed value after the origin.
        """
        spec, L, H = self.spec_, self.lookback, self.horizon
        rows = origins[:, None] + np.arange(-L, H)  # (B, L+H) encoder rows incl. the future
        enc = torch.from_numpy(design.encoder[rows])  # (B, L+H, Fe) copy
        step = torch.from_numpy(design.step[rows[:, L:]])  # (B, H, Fd) copy
        n_lags = len(spec.seasonal_lags)
        past = slice(1 + n_lags, 1 + n_lags + len(spec.past_covariates))
        enc[:, L:, past] = enc[:, L - 1: L, past]
        out = torch.empty(len(origins), H)
        for j in range(H):
            pred = self.network_(enc[:, j:j + L], step[:, j:j + 1])[:, 0]
            out[:, j] = pred
            enc[:, L + j, 0] = pred
            for k, m in enumerate(spec.seasonal_lags):
                if L + j + m < L + H:
                    enc[:, L + j + m, 1 + k] = pred
                if j + m < H:
                    step[:, j + m, k] = pred
        return out.double().numpy()

    def _transformed(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.target_transform is None:
            return frame
        offset = 1.0 if self.target_transform == "log1p" else 0.0
        out = frame.copy()
        known = out["y"].notna()
        bad = known & (out["y"] + offset <= 0)
        if bad.any():
            row = out[bad].iloc[0]
            raise DataValidationError(
                f"target_transform={self.target_transform!r} needs target values > "
                f"{-offset + 0:g}; "
                f"series {row['unique_id']!r} has {row['y']:g} at {row['ds']}; use "
                f"{'log1p for values >= 0' if not offset else 'no transform'} instead")
        out.loc[known, "y"] = LogTransform(offset).transform(out.loc[known, "y"].to_numpy())
        return out

    def _inverse_transformed(self, values: np.ndarray) -> np.ndarray:
        if self.target_transform is None:
            return values
        offset = 1.0 if self.target_transform == "log1p" else 0.0
        return LogTransform(offset).inverse_transform(values)

def _widen(q: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Move the outermost quantiles of q (..., Q) out by `offsets` (broadcast over the
    leading axes), keeping the quantiles monotone when an offset is negative."""
    if q.shape[-1] < 2:
        return q
    q = q.copy()
    q[..., 0] -= offsets
    q[..., -1] += offsets
    if q.shape[-1] > 2:
        q[..., 0] = np.minimum(q[..., 0], q[..., 1])
        q[..., -1] = np.maximum(q[..., -1], q[..., -2])
    return q


def _as_times_like(values: pd.Series, like: pd.Series) -> pd.Series:
    """Parse user timestamps into the time zone (or zone-naive form) of `like`."""
    zone = like.dt.tz
    try:
        parsed = pd.to_datetime(values, utc=zone is not None)
    except (ValueError, TypeError) as err:
        raise DataValidationError(f"future has unparseable timestamps: {err}") from err
    if zone is not None:
        return parsed.dt.tz_convert(zone)
    if parsed.dt.tz is not None:
        raise DataValidationError(
            "future has time-zone aware timestamps but the model's data had none; drop the "
            "offsets or train on aware timestamps")
    return parsed


def _as_list(value: Any) -> list[Any]:
    """A time as a one-element list; a sequence (list, array, index, Series) as a list."""
    if isinstance(value, str | pd.Timestamp | np.datetime64) or not isinstance(
            value, Sequence | np.ndarray | pd.Index | pd.Series):
        return [value]
    return list(value)


def _cutoff_times(values: list[Any], like: pd.Series) -> pd.DatetimeIndex:
    """Cutoffs parsed as times of the data: naive ones read in the data's time zone."""
    if not values:
        raise DataValidationError("cutoffs is empty; give at least one time")
    zone = like.dt.tz
    times = []
    for value in values:
        try:
            when = pd.Timestamp(value)
        except (ValueError, TypeError) as err:
            raise DataValidationError(
                f"cutoffs must be times such as '2024-03-01 12:00'; got {value!r}: {err}"
            ) from err
        if zone is None and when.tz is not None:
            raise DataValidationError(
                f"cutoff {value!r} has a time zone but the data's times have none; drop it")
        if zone is not None:
            when = when.tz_localize(zone) if when.tz is None else when.tz_convert(zone)
        times.append(when)
    return pd.DatetimeIndex(times).astype(like.dtype)


def _filled(design: Design) -> np.ndarray:
    """Targets with unknown (future) values as 0, for windows whose targets are not used."""
    return np.nan_to_num(design.target, nan=0.0)


def _lengths(design: Design) -> dict[str, int]:
    return {uid: stop - start for uid, (start, stop) in design.segments.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value

