"""One forecaster fitted per training span — a walk-forward backtest's folds — one after
another, or side by side in forked worker processes of one thread each.

The folds of a backtest are independent fits, and a small recurrent network uses a second
thread poorly, so on a few cores `n_jobs` folds at a time finish sooner than one fold at a
time on every thread. A worker hands back its fitted state (weights and the JSON state that
`LSTMForecaster.save` writes) and the parent rebuilds the forecaster from it, as `load` does.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import partial
from typing import Any

import torch

from lstmkit.data.loading import SeriesFrame
from lstmkit.errors import ConfigError
from lstmkit.models.forecaster import LSTMForecaster
from lstmkit.nn._checks import check_positive_int
from lstmkit.training.forked import check_forkable, run_forked
from lstmkit.training.trainer import resolve_device


def fit_each(model: LSTMForecaster, trainings: Sequence[SeriesFrame], n_jobs: int = 1,
             names: Sequence[str] | None = None, option: str = "n_jobs"
             ) -> list[LSTMForecaster]:
    """A copy of the unfitted `model` fitted on each of `trainings`, in order.

    `n_jobs` > 1 fits up to that many at once in forked processes of one thread each (CPU,
    Linux/macOS); inside a worker an ensemble's members train one after another. A failing
    fit stops the others and is raised naming it by `names` (default: "training span i");
    refusals name the count `option`.
    """
    check_positive_int(n_jobs, f"{option} (fits at once)")
    if n_jobs == 1 or len(trainings) < 2:
        return [copy.deepcopy(model).fit(training) for training in trainings]
    if not model.fits_in_forked_workers:
        raise ConfigError(f"a {type(model).__name__} cannot be fitted in forked worker "
                          f"processes; use {option}=1 (got {n_jobs})")
    model._check_params()  # a bad setting is refused here, not once per worker
    check_forkable(n_jobs, resolve_device(model.device), option)
    runs = [partial(_fit_in_worker, model, training) for training in trainings]
    names = names or [f"training span {i}" for i in range(len(trainings))]
    fitted = []
    for weights, state in run_forked(runs, n_jobs, names=names):
        rebuilt = copy.deepcopy(model)
        rebuilt.set_extra(state)
        rebuilt.load_state_dict(weights)
        fitted.append(rebuilt)
    return fitted


def _fit_in_worker(model: LSTMForecaster, training: SeriesFrame
                   ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Worker body: fit a copy (members in turn, no progress bars) and hand back its state."""
    fitted = copy.deepcopy(model)
    fitted.n_jobs, fitted.progress = 1, False
    fitted.fit(training)
    return fitted.state_dict(), fitted.get_extra()
