"""A long/flat trading backtest of return forecasts, with transaction costs, vs buy-and-hold.

Conventions (all vectorised NumPy): ``returns[t]`` is the asset's simple return over period
t; ``positions[t]`` (0 = flat, 1 = long) is held over period t and decided before it, from
data up to t-1. Every change of position costs ``cost_bps`` basis points of the equity
(entering from the initial flat position counts as a trade), charged in the period of the
change: ``net[t] = positions[t] * returns[t] - cost_bps / 1e4 * |positions[t] - positions[t-1]|``.
Equity compounds from 1. Sharpe is the annualised mean over standard deviation (ddof=1) of
the net period returns with a zero risk-free rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError

PERIODS_PER_YEAR = 252
STRATEGY_METRICS = ("total_return", "annualized_return", "sharpe", "max_drawdown", "trades",
                    "exposure")


def _array(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise DataValidationError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        row = int(np.argmax(~np.isfinite(arr)))
        raise DataValidationError(f"{name} is NaN or infinite at row {row}; drop or fill it")
    return arr


def strategy_returns(returns: Sequence[float] | np.ndarray,
                     positions: Sequence[float] | np.ndarray,
                     cost_bps: float = 0.0) -> np.ndarray:
    """Net simple return of every period of a strategy holding `positions` (see module doc)."""
    r, p = _array("returns", returns), _array("positions", positions)
    if r.shape != p.shape:
        raise DataValidationError(
            f"returns has {r.size} periods but positions has {p.size}; give one position per "
            "period")
    if cost_bps < 0:
        raise ConfigError(f"cost_bps must be >= 0 basis points, got {cost_bps}")
    changes = np.abs(np.diff(p, prepend=0.0))
    return p * r - cost_bps / 1e4 * changes


def performance(net: Sequence[float] | np.ndarray, positions: Sequence[float] | np.ndarray,
                periods_per_year: int = PERIODS_PER_YEAR) -> dict[str, float]:
    """Total and annualised (geometric) return, Sharpe, max drawdown (a negative fraction of
    the running peak, the initial equity of 1 included), trades (position changes) and
    exposure (share of periods held long)."""
    r, p = _array("net returns", net), _array("positions", positions)
    equity = np.cumprod(1.0 + r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    total = float(equity[-1] - 1.0)
    std = float(np.std(r, ddof=1)) if r.size > 1 else 0.0
    sharpe = float(np.mean(r) / std * np.sqrt(periods_per_year)) if std > 0 else 0.0
    return {
        "total_return": total,
        "annualized_return": float((1.0 + total) ** (periods_per_year / r.size) - 1.0),
        "sharpe": sharpe,
        "max_drawdown": float(min(0.0, np.min(equity / peak - 1.0))),
        "trades": float(np.count_nonzero(np.diff(p, prepend=0.0))),
        "exposure": float(np.mean(p != 0)),
    }


def backtest_strategy(returns: Sequence[float] | np.ndarray,
                      positions: Sequence[float] | np.ndarray, *, cost_bps: float = 0.0,
                      periods_per_year: int = PERIODS_PER_YEAR) -> dict[str, float]:
    """`performance` of holding `positions` over `returns`, after costs."""
    net = strategy_returns(returns, positions, cost_bps)
    return performance(net, positions, periods_per_year)


def long_flat_positions(forecasts: Sequence[float] | np.ndarray) -> np.ndarray:
    """1 (long) where the forecast return is above 0, else 0 (flat)."""
    return (_array("forecasts", forecasts) > 0).astype(np.float64)


def hit_rate(actual: Sequence[float] | np.ndarray, forecasts: Sequence[float] | np.ndarray
             ) -> float:
    """Share of periods whose up / not-up call (forecast > 0) matches the actual return."""
    a, f = _array("actual", actual), _array("forecasts", forecasts)
    if a.shape != f.shape:
        raise DataValidationError(f"actual has {a.size} values, forecasts {f.size}")
    return float(np.mean((a > 0) == (f > 0)))


def trading_table(forecasts: pd.DataFrame, *, cost_bps: float, log_returns: bool = True,
                  periods_per_year: int = PERIODS_PER_YEAR) -> pd.DataFrame:
    """Long/flat strategy of every model's one-step return forecasts vs buy-and-hold.

    `forecasts` has columns model, ds, forecast and actual (the realised return, a log return
    when `log_returns`); each model's rows are taken in time order, pooled over folds. One row
    per model plus ``buy_and_hold``: hit_rate (share of right up / not-up calls; for
    buy-and-hold, the share of up periods) and the `performance` metrics after `cost_bps`.
    """
    missing = [c for c in ("model", "ds", "forecast", "actual") if c not in forecasts.columns]
    if missing:
        raise DataValidationError(f"forecasts lack column(s) {missing}")
    rows = []
    for model, group in forecasts.groupby("model", sort=False):
        ordered = group.sort_values("ds")
        actual = ordered["actual"].to_numpy(np.float64)
        simple = np.expm1(actual) if log_returns else actual
        positions = long_flat_positions(ordered["forecast"].to_numpy())
        rows.append({"model": str(model), "periods": len(ordered),
                     "hit_rate": hit_rate(actual, ordered["forecast"].to_numpy()),
                     **backtest_strategy(simple, positions, cost_bps=cost_bps,
                                         periods_per_year=periods_per_year)})
        hold = np.ones_like(simple)
        benchmark = {"model": "buy_and_hold", "periods": len(ordered),
                     "hit_rate": float(np.mean(actual > 0)),
                     **backtest_strategy(simple, hold, cost_bps=cost_bps,
                                         periods_per_year=periods_per_year)}
    if not rows:
        raise DataValidationError("forecasts is empty; nothing to trade")
    table = pd.DataFrame([*rows, benchmark])
    return table.sort_values("sharpe", ascending=False, ignore_index=True)


def fold_trading_metrics(forecasts: pd.DataFrame, *, cost_bps: float, log_returns: bool = True,
                         periods_per_year: int = PERIODS_PER_YEAR) -> pd.DataFrame:
    """hit_rate, sharpe and total_return of every model's long/flat strategy per fold (each
    fold starts flat), as a metrics frame (model, fold, metric, value)."""
    if "fold" not in forecasts.columns:
        raise DataValidationError("forecasts lack column 'fold'")
    parts = []
    for fold, group in forecasts.groupby("fold", sort=True):
        table = trading_table(group, cost_bps=cost_bps, log_returns=log_returns,
                              periods_per_year=periods_per_year)
        table = table[table["model"] != "buy_and_hold"]
        long = table.melt(id_vars="model", value_vars=["hit_rate", "sharpe", "total_return"],
                          var_name="metric")
        parts.append(long.assign(fold=int(fold))[["model", "fold", "metric", "value"]])
    return pd.concat(parts, ignore_index=True)
