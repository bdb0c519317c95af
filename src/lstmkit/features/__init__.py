"""Feature engineering: pure functions that take a frame or timestamps and return new columns."""

from lstmkit.features.calendar import calendar_features, holiday_features
from lstmkit.features.fourier import fourier_features
from lstmkit.features.indicators import (
    DEFAULT_INDICATORS,
    bollinger,
    ema,
    indicator_columns,
    indicator_features,
    macd,
    realized_volatility,
    returns,
    rsi,
    sma,
    volume_features,
)
from lstmkit.features.lags import lag_features, rolling_features
from lstmkit.features.market import asset_columns, asset_features, join_dated

__all__ = [
    "DEFAULT_INDICATORS",
    "asset_columns",
    "asset_features",
    "bollinger",
    "calendar_features",
    "ema",
    "fourier_features",
    "holiday_features",
    "indicator_columns",
    "indicator_features",
    "join_dated",
    "lag_features",
    "macd",
    "realized_volatility",
    "returns",
    "rolling_features",
    "rsi",
    "sma",
    "volume_features",
]
