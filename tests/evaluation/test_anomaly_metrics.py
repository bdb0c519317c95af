"""Anomaly metrics on tiny hand-made cases, and the classical baselines."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.evaluation.anomaly_baselines import IsolationForestDetector, RollingZScore
from lstmkit.evaluation.anomaly_metrics import (
    anomaly_metrics,
    event_f1,
    event_metrics,
    label_events,
    point_metrics,
    pr_auc,
    roc_auc,
)
from lstmkit.models.anomaly import best_f1_threshold, flagged_runs


def test_point_metrics_exact():
    labels = [0, 1, 1, 0, 0, 1]
    flags = [0, 1, 0, 1, 0, 1]
    m = point_metrics(labels, flags)
    assert m == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert point_metrics(labels, [0] * 6) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert point_metrics([0, 1, 0, 0], [1, 1, 0, 0]) == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3})


def test_event_metrics_tolerance_window():
    labels = np.zeros(15, dtype=int)
    labels[2:4] = 1  # event [2, 3]
    labels[8:10] = 1  # event [8, 9]
    flags = np.zeros(15, dtype=int)
    flags[5] = 1  # 2 rows after the first event
    flags[12] = 1  # 3 rows after the second event
    assert label_events(labels) == [(2, 3), (8, 9)]

    tol2 = event_metrics(labels, flags, tolerance=2)
    assert tol2["events"] == 2 and tol2["detected"] == 1 and tol2["false_positive_runs"] == 1
    assert (tol2["precision"], tol2["recall"], tol2["f1"]) == pytest.approx((0.5, 0.5, 0.5))

    tol0 = event_metrics(labels, flags, tolerance=0)
    assert (tol0["detected"], tol0["false_positive_runs"]) == (0, 2)
    assert (tol0["precision"], tol0["recall"], tol0["f1"]) == (0.0, 0.0, 0.0)

    tol3 = event_metrics(labels, flags, tolerance=3)
    assert (tol3["detected"], tol3["false_positive_runs"]) == (2, 0)
    assert tol3["f1"] == 1.0


def test_a_long_flagged_run_over_an_event_is_one_detection_not_a_false_alarm():
    labels = [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    flags = [0, 1, 1, 1, 1, 1, 1, 1, 0, 1]
    m = event_metrics(labels, flags)
    assert (m["detected"], m["false_positive_runs"]) == (1, 1)
    assert m["precision"] == 0.5 and m["recall"] == 1.0
    assert event_f1(0)(np.array(labels), np.array(flags)) == pytest.approx(2 / 3)


def test_roc_and_pr_auc_exact():
    labels = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]
    assert roc_auc(labels, scores) == pytest.approx(0.75)
    # ranked 0.8 (1), 0.4 (0), 0.35 (1): AP = 0.5 * 1 + 0.5 * 2/3
    assert pr_auc(labels, scores) == pytest.approx(0.5 + 1 / 3)


def test_nan_scores_rank_lowest():
    assert roc_auc([0, 0, 1], [np.nan, 0.2, 0.9]) == 1.0
    assert roc_auc([1, 0, 0], [np.nan, 0.2, 0.9]) == 0.0
    assert np.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))


def test_anomaly_metrics_flat_dict():
    m = anomaly_metrics([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], [0, 1, 0, 0], tolerance=0)
    assert m["event_f1"] == 1.0 and m["point_recall"] == 0.5 and m["roc_auc"] == 1.0
    assert m["flagged"] == 1


def test_metric_errors_name_the_problem():
    with pytest.raises(DataValidationError, match="flags has 3 rows, labels have 4"):
        point_metrics([0, 1, 0, 1], [0, 1, 0])
    with pytest.raises(DataValidationError, match="row 2 holds 2"):
        point_metrics([0, 1, 2], [0, 1, 0])
    with pytest.raises(ConfigError, match="tolerance"):
        event_metrics([0, 1], [0, 1], tolerance=-1)
    with pytest.raises(DataValidationError, match="row 1 is inf"):
        roc_auc([0, 1], [0.0, np.inf])


def test_flagged_runs_and_min_gap_merge():
    flags = [1, 1, 0, 0, 1, 0, 0, 0, 1]
    assert flagged_runs(flags) == [(0, 1), (4, 4), (8, 8)]
    assert flagged_runs(flags, min_gap=2) == [(0, 4), (8, 8)]
    assert flagged_runs(flags, min_gap=3) == [(0, 8)]
    assert flagged_runs([0, 0]) == [] and flagged_runs([]) == []


def test_best_f1_threshold_exact():
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.3, np.nan])
    labels = np.array([0, 0, 1, 1, 0, 0])
    assert best_f1_threshold(scores, labels) == (0.8, 1.0)
    # ties: 0.5 flags rows 0 and 1 together; F1 = 2*1/(2+1) at 0.9 beats 2*2/(3+2)...
    threshold, f1 = best_f1_threshold(np.array([0.9, 0.5, 0.5, 0.1]), np.array([1, 1, 0, 0]))
    assert threshold == 0.5 and f1 == pytest.approx(0.8)


def test_rolling_zscore_is_causal_and_exact():
    train = np.array([1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0])
    det = RollingZScore(window=4).fit(train)
    scores = det.score(np.array([1.0, 2.0, 3.0, 4.0, 10.0]))
    assert np.isnan(scores[:4]).all()
    assert scores[4] == pytest.approx(7.5 / np.std([1.0, 2.0, 3.0, 4.0]))
    # a later value never changes an earlier score
    longer = det.score(np.array([1.0, 2.0, 3.0, 4.0, 10.0, -50.0]))
    assert longer[4] == pytest.approx(scores[4])


def _seasonal(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 20) + 0.05 * np.random.default_rng(seed).normal(size=n)


def test_baselines_flag_a_synthetic_spike():
    test = _seasonal(300, 1)
    test[150] += 3.0
    for det in (RollingZScore(window=20, quantile=1.0),
                IsolationForestDetector(window=8, n_estimators=50, quantile=1.0)):
        det.fit(_seasonal(400, 0))
        flags = det.predict(test)
        assert flags[150] == 1, type(det).__name__
        assert np.nanargmax(det.score(test)) in range(143, 158)


def test_baseline_errors():
    with pytest.raises(ConfigError, match="window must be a positive integer"):
        RollingZScore(window=0).fit(np.arange(10.0))
    with pytest.raises(DataValidationError, match="needs at least window 20"):
        RollingZScore(window=20).fit(np.arange(10.0))
