"""Long/flat strategy backtest: hand-computed returns, costs, drawdown, Sharpe, trades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.trading import (
    backtest_strategy,
    fold_trading_metrics,
    hit_rate,
    long_flat_positions,
    performance,
    strategy_returns,
    trading_table,
)

RETURNS = [0.10, -0.05, 0.02, -0.10]


def test_net_returns_charge_costs_on_every_position_change() -> None:
    # long, flat, long, long: trades on days 0 (enter), 1 (exit), 2 (enter); 10 bps each
    net = strategy_returns(RETURNS, [1, 0, 1, 1], cost_bps=10)
    np.testing.assert_allclose(net, [0.10 - 0.001, -0.001, 0.02 - 0.001, -0.10])


def test_performance_by_hand() -> None:
    net = np.array([0.10, -0.05, 0.02, -0.10])
    got = performance(net, [1, 1, 1, 1], periods_per_year=4)
    equity = [1.1, 1.045, 1.0659, 0.95931]
    assert got["total_return"] == pytest.approx(equity[-1] - 1)
    assert got["annualized_return"] == pytest.approx(equity[-1] - 1)  # 4 periods = 1 year
    # peak 1.1 after day 0; the trough 0.95931 is 12.79 % below it
    assert got["max_drawdown"] == pytest.approx(0.95931 / 1.1 - 1)
    assert got["sharpe"] == pytest.approx(net.mean() / net.std(ddof=1) * 2)
    assert got["trades"] == 1 and got["exposure"] == 1.0


def test_drawdown_counts_a_fall_from_the_initial_equity() -> None:
    got = performance([-0.5, 0.2], [1, 1])
    assert got["max_drawdown"] == pytest.approx(-0.5)
    assert performance([0.01, 0.02], [1, 1])["max_drawdown"] == 0.0


def test_flat_strategy_earns_nothing_and_never_trades() -> None:
    got = backtest_strategy(RETURNS, [0, 0, 0, 0], cost_bps=50)
    assert got == {"total_return": 0.0, "annualized_return": 0.0, "sharpe": 0.0,
                   "max_drawdown": 0.0, "trades": 0.0, "exposure": 0.0}


def test_positions_and_hit_rate() -> None:
    np.testing.assert_array_equal(long_flat_positions([0.2, 0.0, -0.1]), [1, 0, 0])
    assert hit_rate([0.1, -0.2, 0.0, 0.3], [0.5, 0.1, -0.1, -0.2]) == 0.5


def test_trading_table_against_buy_and_hold() -> None:
    ds = pd.bdate_range("2022-01-03", periods=4)
    log_actual = np.log1p(RETURNS)
    forecasts = pd.DataFrame({
        "model": ["perfect"] * 4 + ["zero"] * 4,
        "ds": list(ds[::-1]) + list(ds),  # rows out of order: sorted by time inside
        "forecast": list(np.array(RETURNS)[::-1]) + [0.0] * 4,
        "actual": list(log_actual[::-1]) + list(log_actual),
    })
    table = trading_table(forecasts, cost_bps=0).set_index("model")
    assert table.loc["perfect", "hit_rate"] == 1.0
    assert table.loc["perfect", "total_return"] == pytest.approx(1.10 * 1.02 - 1)
    assert table.loc["perfect", "trades"] == 4  # long, flat, long, flat: 4 changes
    assert table.loc["zero", "total_return"] == 0.0
    assert table.loc["buy_and_hold", "total_return"] == pytest.approx(np.prod(
        1 + np.array(RETURNS)) - 1)
    assert table.loc["buy_and_hold", "hit_rate"] == 0.5
    assert list(table.index)[0] == "perfect"  # ranked by Sharpe


def test_bad_inputs_are_named() -> None:
    with pytest.raises(DataValidationError, match="returns has 4 periods but positions has 3"):
        strategy_returns(RETURNS, [1, 1, 1])
    with pytest.raises(ConfigError, match="cost_bps must be >= 0"):
        strategy_returns(RETURNS, [1, 1, 1, 1], cost_bps=-1)
    with pytest.raises(DataValidationError, match="NaN or infinite at row 1"):
        strategy_returns([0.1, np.nan], [1, 1])


def test_fold_metrics_start_each_fold_flat() -> None:
    forecasts = pd.DataFrame({
        "model": "m", "fold": [0, 0, 1, 1],
        "ds": pd.bdate_range("2022-01-03", periods=4),
        "forecast": [1.0, 1.0, 1.0, -1.0], "actual": np.log1p(RETURNS),
    })
    got = fold_trading_metrics(forecasts, cost_bps=100).set_index(["fold", "metric"])["value"]
    assert got[(0, "total_return")] == pytest.approx((1.10 - 0.01) * 0.95 - 1)
    assert got[(1, "total_return")] == pytest.approx((1.02 - 0.01) * (1 - 0.01) - 1)  # in, out
    assert got[(1, "hit_rate")] == 1.0
