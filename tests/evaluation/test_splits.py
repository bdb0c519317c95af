"""Walk-forward folds: layout, properties and validation."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation import walk_forward


def test_expanding_layout() -> None:
    folds = walk_forward(100, horizon=5, folds=3, fold_length=10, step=3, gap=2)
    assert [(f.index, f.train_start, f.train_end, f.test_start, f.test_end) for f in folds] == [
        (0, 0, 68, 70, 80),
        (1, 0, 78, 80, 90),
        (2, 0, 88, 90, 100),
    ]
    np.testing.assert_array_equal(folds[2].origins, [90, 93])
    np.testing.assert_array_equal(folds[0].origins, [70, 73])


def test_defaults_one_origin_per_fold() -> None:
    folds = walk_forward(20, horizon=4, folds=2)
    assert [(f.train_end, f.test_end) for f in folds] == [(12, 16), (16, 20)]
    assert [f.origins.tolist() for f in folds] == [[12], [16]]


def test_sliding_window_keeps_train_size() -> None:
    folds = walk_forward(60, horizon=5, folds=2, fold_length=10, window="sliding", train_size=15)
    assert [(f.train_start, f.train_end) for f in folds] == [(25, 40), (35, 50)]


@pytest.mark.parametrize("window", ["expanding", "sliding"])
@pytest.mark.parametrize("gap", [0, 3])
def test_no_overlap_and_no_leakage(window: str, gap: int) -> None:
    horizon = 7
    kwargs = {"train_size": 30} if window == "sliding" else {}
    folds = walk_forward(
        200, horizon=horizon, folds=4, fold_length=20, step=4, gap=gap, window=window, **kwargs
    )
    tested: set[int] = set()
    for fold in folds:
        positions = {int(o) + s for o in fold.origins for s in range(horizon)}
        assert max(positions) < fold.test_end
        assert min(positions) == fold.test_start
        assert not positions & tested
        tested |= positions
        assert fold.train_end + gap == fold.test_start
        assert fold.train_end <= min(positions) - gap
        assert fold.train_end - fold.train_start >= 1
    assert folds[-1].test_end == 200


def test_too_short_series_message() -> None:
    with pytest.raises(DataValidationError) as err:
        walk_forward(500, horizon=48, folds=4, fold_length=336)
    message = str(err.value)
    assert "series has 500 rows" in message
    assert "at least 1345 rows" in message
    assert "--folds" in message


def test_min_train_enforced() -> None:
    walk_forward(30, horizon=5, folds=2, min_train=20)
    with pytest.raises(DataValidationError, match="21 training rows"):
        walk_forward(30, horizon=5, folds=2, min_train=21)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 0, "folds": 1}, "horizon must be an integer >= 1"),
        ({"horizon": 5, "folds": 1, "fold_length": 3}, "fold_length=3 is shorter"),
        ({"horizon": 5, "folds": 1, "window": "rolling"}, "window must be one of"),
        ({"horizon": 5, "folds": 1, "window": "sliding"}, "needs train_size"),
        ({"horizon": 5, "folds": 1, "train_size": 10}, "only applies to window='sliding'"),
        ({"horizon": 5, "folds": 1, "gap": -1}, "gap must be"),
        ({"horizon": 5, "folds": 2.0}, "folds must be"),
    ],
)
def test_config_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        walk_forward(100, **kwargs)
