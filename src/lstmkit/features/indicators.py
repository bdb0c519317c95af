"""Technical indicators of price series, computed causally within each series.

Every function reads columns of a frame whose rows are in time order within each series and
returns only the new columns, indexed like the input (which is never modified). The value at
row t uses rows <= t of the same series only. Series are told apart by the column `by`; by
default a ``unique_id`` column when the frame has one, else the frame is one series.

Formulas follow StockCharts ChartSchool: EMAs start from the simple average of their first
`window` values (then ``alpha = 2 / (window + 1)``); RSI uses Wilder's smoothing
(``alpha = 1 / window``, started from the simple average of the first `window` gains and
losses); Bollinger bands use the population standard deviation. Rows before an indicator
has enough history are NaN.

`indicator_features` turns a spec such as ``{"rsi": [14], "macd": [12, 26, 9]}`` into
scale-free features (price relative to its averages, %b, ...) for a model;
`lstmkit.features.market` builds a whole asset's frame from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from lstmkit.errors import ConfigError, DataValidationError

TRADING_DAYS = 252
DEFAULT_INDICATORS: dict[str, list[float]] = {
    "returns": [1, 5],
    "volatility": [5, 20],
    "sma": [10, 50],
    "ema": [12, 26],
    "rsi": [14],
    "macd": [12, 26, 9],
    "bollinger": [20, 2],
    "volume": [20],
}
"""Default `indicator_features` spec: every indicator family with its common settings."""

Transform = Callable[[pd.Series], pd.Series]


# -- plumbing -------------------------------------------------------------------------------


def _window(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _keys(frame: pd.DataFrame, by: str | None) -> pd.Series | None:
    """Series ids on a positional index (None: one series)."""
    column = by if by is not None else ("unique_id" if "unique_id" in frame.columns else None)
    if column is None:
        return None
    if column not in frame.columns:
        raise DataValidationError(
            f"series id column {column!r} not in the frame; columns: {list(frame.columns)}")
    keys = frame[column].reset_index(drop=True)
    if keys.isna().any():
        row = int(np.argmax(keys.isna().to_numpy()))
        raise DataValidationError(f"series id {column!r} is missing at row {row}; fill it")
    return keys


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise DataValidationError(
            f"column {column!r} not in the frame; available columns: {list(frame.columns)}")
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values):
        raise DataValidationError(f"column {column!r} is {values.dtype}, not numeric")
    return values.reset_index(drop=True).astype(np.float64)


def _check_length(keys: pd.Series | None, n: int, window: int, what: str) -> None:
    """Reject a window longer than the shortest series (it would be all NaN)."""
    sizes = pd.Series({"the series": n}) if keys is None else keys.value_counts()
    short = sizes[sizes < window]
    if not short.empty:
        uid, length = short.index[0], int(short.iloc[0])
        raise DataValidationError(
            f"{what} needs {window} rows but {uid} has only {length}; use a window <= "
            f"{length} or give more data")


def _per_series(values: pd.Series, keys: pd.Series | None, transform: Transform) -> pd.Series:
    """Apply a vectorised transform to each series separately (rows stay in place)."""
    if keys is None:
        return transform(values)
    return values.groupby(keys, sort=False, group_keys=False).transform(transform)


def _out(frame: pd.DataFrame, columns: dict[str, pd.Series | np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()},
                        index=frame.index)


def _seeded_ema(values: pd.Series, window: int, alpha: float) -> pd.Series:
    """EMA started from the simple mean of the first `window` values (NaN before it)."""
    start = values.first_valid_index()
    if start is None:
        return values
    first = values.index.get_loc(start)
    seeded = values.copy()
    seeded.iloc[: first + window - 1] = np.nan
    if first + window - 1 < len(values):
        seeded.iloc[first + window - 1] = values.iloc[first: first + window].mean()
    return seeded.ewm(alpha=alpha, adjust=False).mean()


# -- indicators -----------------------------------------------------------------------------


def returns(frame: pd.DataFrame, column: str = "close", periods: int = 1, *,
            log: bool = False, by: str | None = None) -> pd.DataFrame:
    """``{column}_return_{p}`` = P_t / P_{t-p} - 1, or ``{column}_logreturn_{p}`` =
    log(P_t / P_{t-p}) with ``log=True``."""
    p = _window("periods", periods)
    keys, values = _keys(frame, by), _values(frame, column)
    _check_length(keys, len(values), p + 1, f"{p}-period returns of {column!r}")
    past = values.shift(p) if keys is None else values.groupby(keys, sort=False).shift(p)
    if log:
        return _out(frame, {f"{column}_logreturn_{p}": np.log(values / past)})
    return _out(frame, {f"{column}_return_{p}": values / past - 1.0})


def realized_volatility(frame: pd.DataFrame, column: str = "close", window: int = 20, *,
                        annualize: int | None = TRADING_DAYS,
                        by: str | None = None) -> pd.DataFrame:
    """``{column}_vol_{w}``: standard deviation (ddof=1) of the last `window` one-period log
    returns, times sqrt(annualize) (None: per period)."""
    w = _window("window", window, 2)
    keys, values = _keys(frame, by), _values(frame, column)
    _check_length(keys, len(values), w + 1, f"{w}-period volatility of {column!r}")
    logret = np.log(values).diff() if keys is None else np.log(values).groupby(
        keys, sort=False).diff()
    vol = _per_series(logret, keys, lambda s: s.rolling(w).std())
    scale = np.sqrt(annualize) if annualize else 1.0
    return _out(frame, {f"{column}_vol_{w}": vol * scale})


def sma(frame: pd.DataFrame, column: str = "close", window: int = 20, *,
        by: str | None = None) -> pd.DataFrame:
    """``{column}_sma_{w}``: mean of the last `window` values."""
    w = _window("window", window)
    keys, values = _keys(frame, by), _values(frame, column)
    _check_length(keys, len(values), w, f"SMA({w}) of {column!r}")
    return _out(frame, {f"{column}_sma_{w}": _per_series(values, keys,
                                                         lambda s: s.rolling(w).mean())})


def ema(frame: pd.DataFrame, column: str = "close", window: int = 20, *,
        by: str | None = None) -> pd.DataFrame:
    """``{column}_ema_{w}``: exponential average, alpha = 2 / (w + 1), started from the SMA
    of the first `window` values (StockCharts' convention)."""
    w = _window("window", window)
    keys, values = _keys(frame, by), _values(frame, column)
    _check_length(keys, len(values), w, f"EMA({w}) of {column!r}")
    alpha = 2.0 / (w + 1.0)
    return _out(frame, {f"{column}_ema_{w}": _per_series(
        values, keys, lambda s: _seeded_ema(s, w, alpha))})


def rsi(frame: pd.DataFrame, column: str = "close", window: int = 14, *,
        by: str | None = None) -> pd.DataFrame:
    """``{column}_rsi_{w}``: Wilder's relative strength index, 0..100 (100 with no losses)."""
    w = _window("window", window)
    keys, values = _keys(frame, by), _values(frame, column)
    _check_length(keys, len(values), w + 1, f"RSI({w}) of {column!r}")
    change = values.diff() if keys is None else values.groupby(keys, sort=False).diff()
    alpha = 1.0 / w
    gain = _per_series(change.clip(lower=0.0), keys, lambda s: _seeded_ema(s, w, alpha))
    loss = _per_series((-change).clip(lower=0.0), keys, lambda s: _seeded_ema(s, w, alpha))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(loss == 0.0, 100.0, 100.0 - 100.0 / (1.0 + gain / loss))
    return _out(frame, {f"{column}_rsi_{w}": np.where(gain.isna(), np.nan, value)})


def macd(frame: pd.DataFrame, column: str = "close", fast: int = 12, slow: int = 26,
         signal: int = 9, *, by: str | None = None) -> pd.DataFrame:
    """``{column}_macd`` = EMA(fast) - EMA(slow), ``_macd_signal`` = EMA(signal) of it,
    ``_macd_hist`` = their difference (Appel's MACD, default 12/26/9)."""
    fast, slow, sig = (_window(n, v) for n, v in (("fast", fast), ("slow", slow),
                                                   ("signal", signal)))
    if fast >= slow:
        raise ConfigError(f"MACD needs fast < slow, got fast={fast}, slow={slow}")
    keys = _keys(frame, by)
    _check_length(keys, len(frame), slow + sig - 1, f"MACD({fast},{slow},{sig}) of {column!r}")
    line = (ema(frame, column, fast, by=by).iloc[:, 0]
            - ema(frame, column, slow, by=by).iloc[:, 0]).reset_index(drop=True)
    alpha = 2.0 / (sig + 1.0)
    signal_line = _per_series(line, keys, lambda s: _seeded_ema(s, sig, alpha))
    return _out(frame, {f"{column}_macd": line, f"{column}_macd_signal": signal_line,
                        f"{column}_macd_hist": line - signal_line})


def bollinger(frame: pd.DataFrame, column: str = "close", window: int = 20,
              width: float = 2.0, *, by: str | None = None) -> pd.DataFrame:
    """Bollinger bands: ``{column}_bb_mid_{w}`` (SMA), ``_bb_upper_{w}`` / ``_bb_lower_{w}``
    (mid ± width population std), ``_bb_pctb_{w}`` ((price - lower) / (upper - lower)) and
    ``_bb_width_{w}`` ((upper - lower) / mid)."""
    w = _window("window", window, 2)
    if not width > 0:
        raise ConfigError(f"Bollinger width must be > 0 standard deviations, got {width!r}")
    keys, values = _keys(frame, by), _values(frame, column)
    _check_length(keys, len(values), w, f"Bollinger({w}) of {column!r}")
    mid = _per_series(values, keys, lambda s: s.rolling(w).mean())
    std = _per_series(values, keys, lambda s: s.rolling(w).std(ddof=0))
    upper, lower = mid + width * std, mid - width * std
    with np.errstate(divide="ignore", invalid="ignore"):
        pctb = (values - lower) / (upper - lower)
    prefix = f"{column}_bb"
    return _out(frame, {f"{prefix}_mid_{w}": mid, f"{prefix}_upper_{w}": upper,
                        f"{prefix}_lower_{w}": lower, f"{prefix}_pctb_{w}": pctb,
                        f"{prefix}_width_{w}": (upper - lower) / mid})


def volume_features(frame: pd.DataFrame, column: str = "volume", window: int = 20, *,
                    by: str | None = None) -> pd.DataFrame:
    """``{column}_ratio_{w}`` = log(V_t / mean of the last `window` volumes) and
    ``{column}_z_{w}``: z-score of log(1 + V_t) over the last `window` values."""
    w = _window("window", window, 2)
    keys, values = _keys(frame, by), _values(frame, column)
    if (values < 0).any():
        raise DataValidationError(f"column {column!r} has negative volumes; check the data")
    _check_length(keys, len(values), w, f"volume features({w}) of {column!r}")
    mean = _per_series(values, keys, lambda s: s.rolling(w).mean())
    logv = np.log1p(values)
    mu = _per_series(logv, keys, lambda s: s.rolling(w).mean())
    sd = _per_series(logv, keys, lambda s: s.rolling(w).std())
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(values / mean)
        z = (logv - mu) / sd
    return _out(frame, {f"{column}_ratio_{w}": ratio, f"{column}_z_{w}": z})


# -- model-ready feature sets ---------------------------------------------------------------

INDICATOR_NAMES = tuple(DEFAULT_INDICATORS)


def _spec_values(name: str, value: Any) -> list[int | float]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not items:
        raise ConfigError(f"indicator {name!r} has no settings; e.g. {DEFAULT_INDICATORS[name]}")
    return items


def indicator_features(frame: pd.DataFrame, spec: Mapping[str, Any] | None = None, *,
                       price: str = "close", volume: str | None = "volume",
                       by: str | None = None) -> pd.DataFrame:
    """Scale-free indicator columns for a model, per `spec` (default `DEFAULT_INDICATORS`).

    spec keys: ``returns`` (periods: ``return_p`` and ``logreturn_p``), ``volatility``
    (windows: ``vol_w``, annualised), ``sma`` / ``ema`` (windows: ``price_to_sma_w`` =
    P / SMA - 1), ``rsi`` (windows: ``rsi_w`` / 100), ``macd`` ([fast, slow, signal]: line,
    signal and histogram divided by the price), ``bollinger`` ([window, width]: ``bb_pctb_w``
    and ``bb_width_w``) and ``volume`` (windows: ``volume_ratio_w``, ``volume_z_w``).
    """
    spec = DEFAULT_INDICATORS if spec is None else spec
    unknown = sorted(set(spec) - set(INDICATOR_NAMES))
    if unknown:
        raise ConfigError(f"unknown indicator(s) {unknown}; choose from {list(INDICATOR_NAMES)}")
    p = _values(frame, price).to_numpy()
    out: dict[str, np.ndarray] = {}
    for name, value in spec.items():
        items = _spec_values(name, value)
        if name == "returns":
            for k in items:
                out[f"return_{k}"] = returns(frame, price, k, by=by).iloc[:, 0].to_numpy()
                out[f"logreturn_{k}"] = returns(frame, price, k, log=True,
                                                by=by).iloc[:, 0].to_numpy()
        elif name == "volatility":
            for w in items:
                out[f"vol_{w}"] = realized_volatility(frame, price, w, by=by).iloc[:, 0].to_numpy()
        elif name in ("sma", "ema"):
            average = sma if name == "sma" else ema
            for w in items:
                out[f"price_to_{name}_{w}"] = p / average(frame, price, w, by=by).iloc[:, 0] \
                    .to_numpy() - 1.0
        elif name == "rsi":
            for w in items:
                out[f"rsi_{w}"] = rsi(frame, price, w, by=by).iloc[:, 0].to_numpy() / 100.0
        elif name == "macd":
            if len(items) != 3:
                raise ConfigError(f"macd takes [fast, slow, signal] such as [12, 26, 9], "
                                  f"got {value!r}")
            lines = macd(frame, price, *items, by=by)
            for suffix, column in zip(("macd", "macd_signal", "macd_hist"), lines, strict=True):
                out[suffix] = lines[column].to_numpy() / p
        elif name == "bollinger":
            window, width = (items + [2.0])[:2]
            bands = bollinger(frame, price, window, width, by=by)
            out[f"bb_pctb_{window}"] = bands[f"{price}_bb_pctb_{window}"].to_numpy()
            out[f"bb_width_{window}"] = bands[f"{price}_bb_width_{window}"].to_numpy()
        elif volume is not None:
            for w in items:
                vols = volume_features(frame, volume, w, by=by)
                out[f"volume_ratio_{w}"] = vols.iloc[:, 0].to_numpy()
                out[f"volume_z_{w}"] = vols.iloc[:, 1].to_numpy()
    return _out(frame, out)


def indicator_columns(spec: Mapping[str, Any] | None = None, *,
                      volume: bool = True) -> list[str]:
    """The column names `indicator_features` gives for `spec`, in the same order."""
    spec = DEFAULT_INDICATORS if spec is None else spec
    names: list[str] = []
    for name, value in spec.items():
        items = _spec_values(name, value) if name in INDICATOR_NAMES else []
        if name == "returns":
            names += [n for k in items for n in (f"return_{k}", f"logreturn_{k}")]
        elif name == "volatility":
            names += [f"vol_{w}" for w in items]
        elif name in ("sma", "ema"):
            names += [f"price_to_{name}_{w}" for w in items]
        elif name == "rsi":
            names += [f"rsi_{w}" for w in items]
        elif name == "macd":
            names += ["macd", "macd_signal", "macd_hist"]
        elif name == "bollinger":
            names += [f"bb_pctb_{items[0]}", f"bb_width_{items[0]}"]
        elif name == "volume" and volume:
            names += [n for w in items for n in (f"volume_ratio_{w}", f"volume_z_{w}")]
    return names
