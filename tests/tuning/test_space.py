"""Search spaces: defaults, user spaces from YAML values, and errors that name the fix."""

from __future__ import annotations

from typing import Any

import pytest
from optuna.trial import FixedTrial

from lstmkit.errors import ConfigError, LstmkitError
from lstmkit.forecast_job import ForecastConfig
from lstmkit.tuning import SearchSpace, SearchSpaceError
from lstmkit.tuning.space import Choice, Fixed, Range

BASE = ForecastConfig(data="x.csv", lookback=96)


def test_default_space_covers_every_tunable_option_around_the_base() -> None:
    space = SearchSpace.default(BASE)
    assert set(space.params) == {"lookback", "hidden_size", "num_layers", "dropout", "lr",
                                 "batch_size", "cell", "attention"}
    assert space.params["lookback"] == Choice((48, 96, 192))
    assert space.params["cell"] == Choice(("lstm", "peephole", "gru"))
    assert space.params["attention"] == Choice((None, "additive", "dot"))
    assert space.params["lr"] == Range(1e-4, 1e-2, integer=False, log=True)
    recursive = SearchSpace.default(ForecastConfig(data="x.csv", strategy="recursive"))
    assert "attention" not in recursive.params  # the recursive strategy takes none


def test_user_space_parses_choices_ranges_and_fixed_values() -> None:
    space = SearchSpace.parse({
        "hidden_size": [32, 64, 32], "lr": {"low": "1e-4", "high": 1e-2, "log": True},
        "num_layers": {"low": 1, "high": 3}, "cell": "gru", "attention": ["none", "dot"],
    }, BASE)
    assert space.params["hidden_size"] == Choice((32, 64))
    assert space.params["lr"] == Range(1e-4, 1e-2, integer=False, log=True)
    assert space.params["num_layers"] == Range(1, 3, integer=True)
    assert space.params["cell"] == Fixed("gru")
    assert space.params["attention"] == Choice((None, "dot"))
    drawn = space.suggest(FixedTrial({"hidden_size": 64, "lr": 2e-3, "num_layers": 2,
                                      "attention": None}))
    assert drawn == {"hidden_size": 64, "lr": 2e-3, "num_layers": 2, "cell": "gru",
                     "attention": None}
    assert SearchSpace.parse(space.describe(), BASE) == space


@pytest.mark.parametrize(("spec", "message"), [
    ({"hiden_size": [8]}, "unknown parameter 'hiden_size'; tunable parameters are"),
    ({"horizon": [1, 2]}, "'horizon' is a forecast option the search does not vary"),
    ({"hidden_size": []}, "search_space.hidden_size has no choices; give at least one value"),
    ({"lr": {"low": 1e-2, "high": 1e-4}}, "low (0.01) must be below high (0.0001); swap"),
    ({"num_layers": {"low": 2, "high": 2}}, "low (2) must be below high (2)"),
    ({"dropout": {"low": 0.0, "high": 0.5, "log": True}}, "a log range needs low > 0"),
    ({"dropout": {"low": 0.1, "high": 1.5}}, "1.5 is not a number in [0, 1)"),
    ({"lr": {"low": 1e-4}}, "low and high required"),
    ({"lr": {"low": 1e-4, "high": 1e-2, "scale": "log"}}, "a range takes keys"),
    ({"cell": ["lstm", "transformer"]}, "'transformer' is not one of ['lstm', 'peephole'"),
    ({"cell": {"low": 1, "high": 2}}, "search_space.cell takes a list of choices"),
    ({"hidden_size": [32.5]}, "search_space.hidden_size: 32.5 is not an integer"),
    ({"batch_size": [0, 32]}, "search_space.batch_size: 0 is not an integer >= 1"),
    ({"lr": ["fast"]}, "search_space.lr: 'fast' is not a number"),
    ({"lr": {"low": 1e-4, "high": 1e-2, "log": True, "step": 1e-4}}, "cannot be combined"),
    ([("hidden_size", 8)], "search_space must be a non-empty mapping"),
    ({}, "search_space must be a non-empty mapping"),
])
def test_bad_spaces_raise_errors_naming_the_value_and_fix(spec: Any, message: str) -> None:
    with pytest.raises(SearchSpaceError) as info:
        SearchSpace.parse(spec, BASE)
    assert message in str(info.value)
    assert isinstance(info.value, ConfigError | LstmkitError)


def test_attention_cannot_be_searched_with_the_recursive_strategy() -> None:
    recursive = ForecastConfig(data="x.csv", strategy="recursive")
    with pytest.raises(SearchSpaceError, match="recursive strategy takes no attention"):
        SearchSpace.parse({"attention": [None, "additive"]}, recursive)
    assert SearchSpace.parse({"attention": [None]}, recursive).params["attention"] == Choice(
        (None,))
