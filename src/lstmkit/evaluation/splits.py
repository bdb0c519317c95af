"""Walk-forward cross-validation: contiguous test blocks at the end of one series.

Positions are 0..n-1. Fold k tests the block [test_start, test_end); forecasts are issued at
`origins` inside the block, each one seeing positions < origin and predicting
origin .. origin + horizon - 1. Training data ends `gap` positions before the block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.errors import ConfigError, DataValidationError

WINDOWS = ("expanding", "sliding")


@dataclass(frozen=True, eq=False)
class Fold:
    """One walk-forward fold; the `train_*` and `test_end` bounds are positions, end exclusive."""

    index: int
    train_start: int
    train_end: int
    origins: np.ndarray
    test_end: int

    @property
    def test_start(self) -> int:
        """First test position (the first origin)."""
        return int(self.origins[0])


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def walk_forward(
    n: int,
    *,
    horizon: int,
    folds: int,
    fold_length: int | None = None,
    step: int | None = None,
    gap: int = 0,
    window: str = "expanding",
    train_size: int | None = None,
    min_train: int = 1,
) -> list[Fold]:
    """Split a series of `n` rows into `folds` walk-forward folds, earliest first.

    Each fold tests `fold_length` positions (default `horizon`); the last fold ends at `n`.
    Origins start at the fold's first test position, `step` apart (default `horizon`), while
    origin + horizon <= test_end. ``window="expanding"`` trains on [0, test_start - gap);
    ``"sliding"`` keeps only the last `train_size` of those positions. Every fold must have at
    least `min_train` training positions.
    """
    n = _check_int("n (series length)", n, 1)
    horizon = _check_int("horizon", horizon, 1)
    folds = _check_int("folds", folds, 1)
    fold_length = horizon if fold_length is None else _check_int("fold_length", fold_length, 1)
    step = horizon if step is None else _check_int("step", step, 1)
    gap = _check_int("gap", gap, 0)
    min_train = _check_int("min_train", min_train, 1)
    if fold_length < horizon:
        raise ConfigError(
            f"fold_length={fold_length} is shorter than horizon={horizon}: no forecast fits in a "
            f"fold; use fold_length >= {horizon}"
        )
    if window not in WINDOWS:
        raise ConfigError(f"window must be one of {list(WINDOWS)}, got {window!r}")
    if window == "sliding":
        if train_size is None:
            raise ConfigError("window='sliding' needs train_size (training positions per fold)")
        train_size = _check_int("train_size", train_size, min_train)
    elif train_size is not None:
        raise ConfigError(
            f"train_size={train_size} only applies to window='sliding'; drop it or set "
            "window='sliding'"
        )
    needed_train = train_size if train_size is not None else min_train
    needed = folds * fold_length + gap + needed_train
    if n < needed:
        raise DataValidationError(
            f"series has {n} rows; {folds} fold(s) of {fold_length} test rows, a gap of {gap} "
            f"and {needed_train} training rows need at least {needed} rows; lower folds "
            "(--folds) or fold_length (--fold-length), or use a longer series"
        )
    out: list[Fold] = []
    for k in range(folds):
        test_end = n - (folds - 1 - k) * fold_length
        test_start = test_end - fold_length
        train_end = test_start - gap
        train_start = 0 if train_size is None else train_end - train_size
        origins = np.arange(test_start, test_end - horizon + 1, step, dtype=np.int64)
        origins.setflags(write=False)
        out.append(Fold(k, train_start, train_end, origins, test_end))
    return out
