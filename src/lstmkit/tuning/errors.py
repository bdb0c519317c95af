"""Errors of the hyperparameter search (both in the `LstmkitError` family)."""

from __future__ import annotations

from lstmkit.errors import ConfigError, LstmkitError


class SearchSpaceError(ConfigError):
    """A search space names an unknown parameter, an empty choice list or a bad range."""


class TuningError(LstmkitError):
    """A search cannot run or gave no result (no trial finished, study setup mismatch)."""
