"""Run a search: open (or resume) the Optuna study, run trials, collect the best config.

    result = tune({"dataset": "vic_electricity", "target": "demand", "horizon": 48},
                  trials=30, storage="tune.db", output="runs/tune")
    result.best_config, result.best_value, result.trials

With a storage (an SQLite file or a database URL) the study outlives the process: a rerun
with the same data, base config, space and metric loads it and only runs the trials still
missing, so a killed search resumes. A trial left running by a killed process is marked
failed once its heartbeat is older than `GRACE_SECONDS`, and retried once with the same
parameters.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.study import MaxTrialsCallback
from optuna.trial import FixedTrial, FrozenTrial, TrialState

from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.forecast_job import ForecastConfig
from lstmkit.tuning.errors import TuningError
from lstmkit.tuning.objective import CVObjective, metric_direction, trial_config
from lstmkit.tuning.options import TuneOptions
from lstmkit.tuning.results import TuneResult, trials_table
from lstmkit.tuning.space import Choice, Fixed, Range, SearchSpace

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 20
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# forecast options that do not change a trial's CV value (baselines are off in trials)
UNSCORED = ("future", "backtest_only", "baselines", "baseline_max_train", "seasonalities")


def tune(
    config: ForecastConfig | Mapping[str, Any],
    *,
    trials: int = 20,
    metric: str = "mase",
    timeout: float | None = None,
    storage: str | Path | None = None,
    study_name: str | None = None,
    search_space: Mapping[str, Any] | None = None,
    prune: bool = True,
    startup_trials: int = 5,
    start_from_base: bool = True,
    enqueue: Sequence[Mapping[str, Any]] = (),
    output: str | Path | None = None,
    on_trial: Callable[[FrozenTrial], None] | None = None,
) -> TuneResult:
    """Search forecaster hyperparameters by mean walk-forward CV `metric` (lower MASE wins).

    `config` is the base forecast config (or its options): data, target, horizon, covariates
    and the backtest folds every trial is scored on. `trials`: finished (complete or pruned)
    trials the study should reach, counting those of an earlier run on the same `storage`.
    `search_space`: see `lstmkit.tuning.space` (None: the default space). `start_from_base`
    tries the base config's own values first (when the space holds them); `enqueue` gives
    more parameter sets to try first. `output`: folder for best_config.yaml and trials.csv.
    """
    base = config if isinstance(config, ForecastConfig) else ForecastConfig.from_dict(
        dict(config))
    options = TuneOptions(
        trials=trials, timeout=timeout, metric=metric,
        storage=None if storage is None else str(storage), study_name=study_name,
        search_space=None if search_space is None else dict(search_space), prune=prune,
        startup_trials=startup_trials, start_from_base=start_from_base)
    direction = metric_direction(options.metric, base)
    if output is not None and Path(output).exists() and not Path(output).is_dir():
        raise ConfigError(f"output {output} exists and is not a folder; give a folder path")
    space = (SearchSpace.default(base) if options.search_space is None
             else SearchSpace.parse(options.search_space, base))
    series = base.load_data()
    setup = _setup(base, space, options.metric)
    name = options.study_name or "lstmkit-" + hashlib.sha256(
        json.dumps(setup, sort_keys=True).encode()).hexdigest()[:12]
    url = None if options.storage is None else storage_url(options.storage)
    study = _open_study(url, name, direction, base.seed, options)
    _check_setup(study, setup)
    first = [_base_params(base, space)] if options.start_from_base else []
    for params in [*first, *(dict(p) for p in enqueue)]:
        if params:
            study.enqueue_trial(params, skip_if_exists=True)
    finished = len(study.get_trials(deepcopy=False, states=FINISHED))
    if finished < options.trials:
        logger.info("study %s: %d finished trial(s), running up to %d more", name, finished,
                    options.trials - finished)
        callbacks: list[Callable[[optuna.Study, FrozenTrial], None]] = [
            MaxTrialsCallback(options.trials, states=FINISHED)]
        if on_trial is not None:
            callbacks.append(lambda _study, trial: on_trial(trial))
        study.optimize(CVObjective(base, space, series, options.metric),
                       n_trials=options.trials - finished, timeout=options.timeout,
                       catch=(LstmkitError,), callbacks=callbacks)
    searched = [n for n, p in space.params.items() if not isinstance(p, Fixed)]
    table = trials_table(study, searched)
    if not (table["state"] == "COMPLETE").any():
        errors = [e for e in table["error"] if e]
        raise TuningError(
            f"no trial of study {name!r} completed ({len(table)} trial(s): "
            f"{table['state'].value_counts().to_dict()}); "
            + (f"first error: {errors[0]}" if errors else "raise --trials or --timeout"))
    best = study.best_trial
    result = TuneResult(
        best_config=trial_config(base, space.suggest(FixedTrial(best.params, best.number))),
        best_value=float(best.value), best_trial=best.number, metric=options.metric,
        direction=direction, trials=table, study_name=name, storage=url)
    if output is not None:
        result.write(output)
    return result


def storage_url(storage: str | Path) -> str:
    """A database URL; a plain path becomes an SQLite file (sqlite:///ABSOLUTE/PATH)."""
    text = str(storage)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _open_study(url: str | None, name: str, direction: str, seed: int,
                options: TuneOptions) -> optuna.Study:
    storage: RDBStorage | None = None
    if url is not None:
        with warnings.catch_warnings():  # heartbeats are marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=options.startup_trials)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=options.startup_trials)
              if options.prune else optuna.pruners.NopPruner())
    return optuna.create_study(storage=storage, sampler=sampler, pruner=pruner,
                               study_name=name, direction=direction, load_if_exists=True)


def _setup(base: ForecastConfig, space: SearchSpace, metric: str) -> dict[str, Any]:
    """What makes trials comparable: data and base config, space and metric (JSON values)."""
    forecast = {k: v for k, v in base.to_dict().items() if k not in UNSCORED}
    return json.loads(json.dumps({"forecast": forecast, "search_space": space.describe(),
                                  "metric": metric}, default=str))


def _check_setup(study: optuna.Study, setup: dict[str, Any]) -> None:
    stored = study.user_attrs.get("setup")
    if stored is None:
        study.set_user_attr("setup", setup)
        return
    if stored != setup:
        differ = sorted(
            [f"forecast.{k}" for k in set(stored["forecast"]) | set(setup["forecast"])
             if stored["forecast"].get(k) != setup["forecast"].get(k)]
            + [k for k in ("search_space", "metric") if stored[k] != setup[k]])
        raise TuningError(
            f"study {study.study_name!r} in this storage was run with another setup (differs "
            f"in {differ}); its trials are not comparable: give another --study-name or "
            "--storage, or leave --study-name out to name the study after its setup")


def _base_params(base: ForecastConfig, space: SearchSpace) -> dict[str, Any]:
    """The base config's values of the searched parameters, if the space holds them all."""
    params: dict[str, Any] = {}
    for name, param in space.params.items():
        value = getattr(base, name)
        if isinstance(param, Choice) and value in param.values:
            params[name] = value
        elif isinstance(param, Range) and param.low <= value <= param.high and (
                param.step is None or math.isclose((value - param.low) / param.step,
                                                   round((value - param.low) / param.step))):
            params[name] = value
        elif not isinstance(param, Fixed):
            return {}
    return params
