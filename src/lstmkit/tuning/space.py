"""The search space: which forecaster options a search varies, and over which values.

A space maps option names (fields of `ForecastConfig`) to

- a list: categorical choices, e.g. ``hidden_size: [32, 64, 128]``;
- a mapping ``{low, high, log, step}``: a numeric range, e.g.
  ``lr: {low: 1e-4, high: 1e-2, log: true}``;
- a single value: the option is fixed at that value for every trial.

A user-given space replaces the default one: options it leaves out keep the base config's
value. `SearchSpace.parse` checks every name, type and bound and raises `SearchSpaceError`
naming the option, the value and the fix.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna

from lstmkit.forecast_job import ForecastConfig
from lstmkit.nn.recurrent import CELLS
from lstmkit.tuning.errors import SearchSpaceError

ATTENTIONS = (None, "additive", "dot")
RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class _Rule:
    """What values an option takes: kind "int", "float" or "choice", a check and its text."""

    kind: str
    ok: Callable[[Any], bool]
    what: str


RULES: dict[str, _Rule] = {
    "lookback": _Rule("int", lambda v: v >= 1, "an integer >= 1"),
    "hidden_size": _Rule("int", lambda v: v >= 1, "an integer >= 1"),
    "num_layers": _Rule("int", lambda v: v >= 1, "an integer >= 1"),
    "batch_size": _Rule("int", lambda v: v >= 1, "an integer >= 1"),
    "dropout": _Rule("float", lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "lr": _Rule("float", lambda v: v > 0, "a number > 0"),
    "weight_decay": _Rule("float", lambda v: v >= 0, "a number >= 0"),
    "cell": _Rule("choice", lambda v: v in CELLS, f"one of {list(CELLS)}"),
    "attention": _Rule("choice", lambda v: v in ATTENTIONS, "one of [null, additive, dot]"),
}


@dataclass(frozen=True)
class Choice:
    """Categorical choices."""

    values: tuple[Any, ...]

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.values))

    def describe(self) -> list[Any]:
        return list(self.values)


@dataclass(frozen=True)
class Range:
    """A numeric range, integer or float, optionally on a log scale or with a step."""

    low: float
    high: float
    integer: bool
    log: bool = False
    step: float | None = None

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high),
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"low": self.low, "high": self.high, "log": self.log}
        return out if self.step is None else {**out, "step": self.step}


@dataclass(frozen=True)
class Fixed:
    """One value for every trial."""

    value: Any

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return self.value

    def describe(self) -> Any:
        return self.value


@dataclass(frozen=True)
class SearchSpace:
    """Named parameters of a search; `suggest` draws one trial's forecaster options."""

    params: Mapping[str, Choice | Range | Fixed]

    @classmethod
    def default(cls, base: ForecastConfig) -> SearchSpace:
        """Every tunable option around the base config (attention only where supported)."""
        lookbacks = sorted({max(1, base.lookback // 2), base.lookback, 2 * base.lookback})
        spec: dict[str, Any] = {
            "lookback": lookbacks,
            "hidden_size": [16, 32, 64, 128],
            "num_layers": [1, 2, 3],
            "dropout": {"low": 0.0, "high": 0.5},
            "lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "batch_size": [64, 128, 256, 512],
            # peephole runs a compiled loop that compiles again for every new shape: on 2
            # busy cores a tiny model's first fit took 175 s (lstm: 6 s); leave it out of a
            # user space when trials must be quick
            "cell": list(CELLS),
        }
        if base.strategy != "recursive":
            spec["attention"] = list(ATTENTIONS)
        return cls.parse(spec, base)

    @classmethod
    def parse(cls, spec: Any, base: ForecastConfig) -> SearchSpace:
        """A checked space from a mapping of option: choices | range | value."""
        if not isinstance(spec, Mapping) or not spec:
            raise SearchSpaceError(
                f"search_space must be a non-empty mapping of option: choices, got {spec!r}; "
                "e.g. search_space: {hidden_size: [32, 64], lr: {low: 1e-4, high: 1e-2, "
                "log: true}}")
        params = {str(name): _parse_param(str(name), value) for name, value in spec.items()}
        attention = params.get("attention")
        if base.strategy == "recursive" and attention is not None and any(
                v is not None for v in _values(attention)):
            raise SearchSpaceError(
                "search_space.attention: the recursive strategy takes no attention; remove "
                "attention from the search space or set strategy to direct or seq2seq")
        return cls(params)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """One trial's values of every parameter (fixed ones included)."""
        return {name: param.suggest(trial, name) for name, param in self.params.items()}

    def describe(self) -> dict[str, Any]:
        """The space as plain YAML/JSON values (parse(describe()) gives it back)."""
        return {name: param.describe() for name, param in self.params.items()}


def _values(param: Choice | Range | Fixed) -> tuple[Any, ...]:
    if isinstance(param, Choice):
        return param.values
    if isinstance(param, Fixed):
        return (param.value,)
    return (param.low, param.high)


def _parse_param(name: str, value: Any) -> Choice | Range | Fixed:
    rule = RULES.get(name)
    if rule is None:
        forecast_options = {f.name for f in dataclasses.fields(ForecastConfig)}
        hint = (f"{name!r} is a forecast option the search does not vary: set it in the "
                "config instead; " if name in forecast_options else "")
        raise SearchSpaceError(
            f"search_space has unknown parameter {name!r}; {hint}tunable parameters are "
            f"{sorted(RULES)}")
    if isinstance(value, Mapping):
        return _parse_range(name, rule, value)
    if isinstance(value, list | tuple):
        if not value:
            raise SearchSpaceError(
                f"search_space.{name} has no choices; give at least one value "
                f"({rule.what}), or leave {name} out to keep the base config's value")
        choices = [_checked(name, rule, v) for v in value]
        return Choice(tuple(dict.fromkeys(choices)))
    return Fixed(_checked(name, rule, value))


def _parse_range(name: str, rule: _Rule, spec: Mapping[str, Any]) -> Range:
    if rule.kind == "choice":
        raise SearchSpaceError(
            f"search_space.{name} takes a list of choices ({rule.what}), not a range {dict(spec)}")
    unknown = sorted(set(spec) - set(RANGE_KEYS))
    missing = [k for k in ("low", "high") if k not in spec]
    if unknown or missing:
        raise SearchSpaceError(
            f"search_space.{name}: a range takes keys {list(RANGE_KEYS)} with low and high "
            f"required; got {dict(spec)}")
    low, high = _checked(name, rule, spec["low"]), _checked(name, rule, spec["high"])
    if low >= high:
        raise SearchSpaceError(
            f"search_space.{name}: low ({low}) must be below high ({high}); swap them, or give "
            f"a single value to fix {name}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SearchSpaceError(f"search_space.{name}.log must be true or false, got {log!r}")
    if log and low <= 0:
        raise SearchSpaceError(
            f"search_space.{name}: a log range needs low > 0, got low={low}; raise low or set "
            "log: false")
    step = spec.get("step")
    if step is not None:
        step = _number(name, step, integer=rule.kind == "int")
        if step <= 0 or log:
            raise SearchSpaceError(
                f"search_space.{name}.step must be > 0 and cannot be combined with log: true, "
                f"got step={step}, log={log}")
    return Range(low, high, integer=rule.kind == "int", log=log, step=step)


def _checked(name: str, rule: _Rule, value: Any) -> Any:
    """`value` as the option's type, if the rule accepts it."""
    if rule.kind == "choice":
        if name == "attention" and isinstance(value, str) and value.lower() in ("none", "null"):
            value = None
    else:
        value = _number(name, value, integer=rule.kind == "int")
    if not rule.ok(value):
        raise SearchSpaceError(f"search_space.{name}: {value!r} is not {rule.what}")
    return value


def _number(name: str, value: Any, *, integer: bool) -> int | float:
    if integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SearchSpaceError(f"search_space.{name}: {value!r} is not an integer")
        return value
    if isinstance(value, bool):
        raise SearchSpaceError(f"search_space.{name}: {value!r} is not a number")
    try:  # YAML reads 1e-4 (no dot) as a string
        return float(value)
    except (TypeError, ValueError):
        raise SearchSpaceError(f"search_space.{name}: {value!r} is not a number") from None
