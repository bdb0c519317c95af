"""Feature engineering: pure functions that take a frame or timestamps and return new columns."""

from lstmkit.features.calendar import calendar_features, holiday_features
from lstmkit.features.fourier import fourier_features
from lstmkit.features.lags import lag_features, rolling_features

__all__ = [
    "calendar_features",
    "fourier_features",
    "holiday_features",
    "lag_features",
    "rolling_features",
]
