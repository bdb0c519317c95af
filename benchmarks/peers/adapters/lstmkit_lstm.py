"""lstmkit's `LSTMForecaster`, direct strategy, univariate: no seasonal lags, calendar or
Fourier terms (the peers get none), no scaler of its own (the harness standardises),
Adam (AdamW with weight decay 0), constant learning rate, no clipping, no validation split,
`max_steps` optimisation steps like the peers.

`lstmkit_defaults` is the same model with lstmkit's own input features left on (seasonal lags
"auto" — a year for monthly data, a day and a week for half-hourly — and calendar terms):
what a user gets by default, shown next to the configured-alike row. `lstmkit_window_norm` is the
configured-alike model with `window_norm="standard"` (each window's target inputs
standardised by their own mean and standard deviation over the lookback, inverted on the
forecast) and `decoder_states="both"` (step k also reads the encoder state aligned with it).
`lstmkit_window_scaled` trains as NeuralForecast does with its per-window scaler,
`scaler_type="standard"` (the row `neuralforecast_window_scaled`) — the decoder reads only the
aligned states (`decoder_states="aligned"`), the loss is measured in each window's
standardised units (`window_loss=True`) and the windows whose horizon runs past the training
data count too (`partial_windows=True`). `lstmkit_averaged` is that model forecasting with
the moving average of its weights (`ema_decay=0.995`, warming up from a fast average), which
NeuralForecast does not have.

`run.py --sampling random` (`NetConfig.sampling`) draws every lstmkit row's windows at random
with replacement, as NeuralForecast draws its windows (`LSTMForecaster(sampling="random")`).
`run.py --ensemble K` (`NetConfig.ensemble`) makes every lstmkit row an ensemble of K networks
(`LSTMForecaster(ensemble=K)`), trained side by side in forked processes (`n_jobs`, see
`common.member_jobs`). `run.py --fold-jobs N` (`NetConfig.fold_jobs`) fits the folds N at once
in forked processes of one thread each (`fit_folds`, lstmkit's `fit_each`, which
`backtest(n_jobs=N)` uses); an ensemble's members then train one after another in each.

With `NetConfig.processes` N > 1 (`run.py --processes N`) every lstmkit row trains
data-parallel: `fit` starts `torchrun` with N processes of threads / N threads each
(`lstmkit_ddp_fit.py`, PyTorch's DistributedDataParallel over gloo: the same global batches,
each process takes batch / N windows of them), rank 0 saves the fitted model with
`LSTMForecaster.save` and the adapter loads it. The fit time includes starting the processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from common import NetConfig, Task, member_jobs

from lstmkit.data.loading import load_series
from lstmkit.evaluation.fold_fits import fit_each
from lstmkit.models.forecaster import LSTMForecaster

WORKER = Path(__file__).resolve().parent.parent / "lstmkit_ddp_fit.py"


def build(net: NetConfig, features: bool, options: dict) -> LSTMForecaster:
    """The unfitted forecaster of one lstmkit row."""
    return LSTMForecaster(
        lookback=net.lookback, horizon=net.horizon, strategy="direct",
        hidden_size=net.hidden_size, num_layers=net.num_layers,
        seasonal_lags="auto" if features else (), calendar=features,
        fourier=None, scaler="none", loss="mae",
        max_steps=net.steps,
        batch_size=net.batch_size, lr=net.lr, weight_decay=0.0, clip_norm=None,
        lr_schedule="constant", validation_fraction=0.0, seed=net.seed, device="cpu",
        precision=net.precision, dropout=net.dropout, sampling=net.sampling, progress=False,
        ensemble=net.ensemble, n_jobs=member_jobs(net),
        **options,
    )


def series_frame(y: np.ndarray, ds: pd.DatetimeIndex) -> pd.DataFrame:
    """The frame lstmkit reads: `ds` and float32 `y`."""
    return pd.DataFrame({"ds": ds, "y": y.astype("float32")})


def fit_in_processes(net: NetConfig, features: bool, options: dict, y: np.ndarray,
                     ds: pd.DatetimeIndex) -> LSTMForecaster:
    """Fit on `net.processes` torchrun processes and load what rank 0 saved."""
    with tempfile.TemporaryDirectory(prefix="lstmkit-ddp-") as tmp:
        work = Path(tmp)
        np.savez(work / "train.npz", y=np.asarray(y, dtype="float32"),
                 ds=pd.DatetimeIndex(ds).asi8)
        spec = {"net": asdict(net), "features": features, "options": options}
        (work / "spec.json").write_text(json.dumps(spec))
        threads = str(net.threads // net.processes)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={net.processes}", str(WORKER), str(work)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"torchrun fit failed (exit {done.returncode}):\n"
                               f"{done.stderr[-4000:]}")
        return LSTMForecaster.load(work / "model")


class LstmkitAdapter:
    """LSTMForecaster fitted on the fold's training rows; forecasts at every origin at once
    (`predict_at`)."""

    scaled = True

    def __init__(self, task: Task, features: bool = False, options: dict | None = None
                 ) -> None:
        self.task = task
        self.features = features
        self.options = options or {}
        self.steps_done = 0
        self.model: LSTMForecaster | None = None
        self.fold_models: list[LSTMForecaster] = []

    @property
    def processes(self) -> int:
        """Processes a fit runs on beside the child: torchrun's, or the forked ensemble
        members' or folds' (their memory counts in the peak RSS)."""
        net = self.task.net
        return max(net.processes, member_jobs(net), net.fold_jobs)

    def fit(self, y: np.ndarray, ds: pd.DatetimeIndex) -> None:
        """Train for `net.steps` optimisation steps."""
        net = self.task.net
        if net.processes > 1:
            self.model = fit_in_processes(net, self.features, self.options, y, ds)
        else:
            self.model = build(net, self.features, self.options)
            self.model.fit(series_frame(y, ds), target="y", time_col="ds")
        self.steps_done = net.steps

    def fit_folds(self, spans: list[tuple[np.ndarray, pd.DatetimeIndex]]) -> None:
        """Fit every fold's training span, `net.fold_jobs` at once (`fit_each`); `use_fold`
        picks the one `predict` uses."""
        net = self.task.net
        frames = [load_series(series_frame(y, ds), target="y", time_col="ds")
                  for y, ds in spans]
        self.fold_models = fit_each(build(net, self.features, self.options), frames,
                                    net.fold_jobs, "fold")
        self.steps_done = net.steps

    def use_fold(self, k: int) -> None:
        """Forecast with the model `fit_folds` fitted on fold `k`."""
        self.model = self.fold_models[k]

    def predict(self, y: np.ndarray, ds: pd.Series, origins: np.ndarray) -> np.ndarray:
        """One batched call over all origins: the forecast at origin o has its cutoff at row
        o - 1 and reads rows < o only."""
        assert self.model is not None
        cutoffs = ds.iloc[origins - 1]
        out = self.model.predict_at(series_frame(y, ds), cutoffs)
        table = out.pivot(index="cutoff", columns="step", values="y")
        return table.loc[cutoffs.to_numpy()].to_numpy()


NF_TRAINING = dict(window_norm="standard", decoder_states="aligned", window_loss=True,
                   partial_windows=True)
OPTIONS = {
    "lstmkit_window_norm": dict(window_norm="standard", decoder_states="both"),
    "lstmkit_window_scaled": NF_TRAINING,
    "lstmkit_averaged": {**NF_TRAINING, "ema_decay": 0.995},
}


def make(name: str, task: Task) -> LstmkitAdapter:
    """The adapter for `run.py`."""
    return LstmkitAdapter(task, features=name == "lstmkit_defaults", options=OPTIONS.get(name))
