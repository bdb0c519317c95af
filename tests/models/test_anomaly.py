"""AnomalyDetector on synthetic seasonal series: detection, thresholds, intervals, save/load,
errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lstmkit.errors import ConfigError, DataValidationError, LstmkitError
from lstmkit.evaluation.anomaly_metrics import event_f1
from lstmkit.models.anomaly import AnomalyDetector
from lstmkit.nn.autoencoder import LSTMAutoencoder

LOOKBACK = 16


def synthetic_seasonal(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    """Two seasonal cycles (periods 20 and 7) plus small noise, indexed by step t."""
    t = np.arange(start, start + n)
    rng = np.random.default_rng(seed)
    value = np.sin(2 * np.pi * t / 20) + 0.4 * np.sin(2 * np.pi * t / 7)
    return pd.DataFrame({"t": t, "value": value + 0.03 * rng.normal(size=n)})


def synthetic_with_anomalies() -> tuple[pd.DataFrame, np.ndarray]:
    """A continuation of the training series with a spike at row 150 and a level shift at
    rows 250-269; returns the frame and its 0/1 labels."""
    frame = synthetic_seasonal(320, start=500, seed=1)
    labels = np.zeros(len(frame), dtype=int)
    frame.loc[150, "value"] += 2.5
    labels[150] = 1
    frame.loc[250:269, "value"] += 1.5
    labels[250:270] = 1
    return frame, labels


def small(method: str = "forecast", **kwargs) -> AnomalyDetector:
    params = dict(method=method, lookback=LOOKBACK, hidden_size=16, max_epochs=12,
                  batch_size=32, lr=1e-2, validation_fraction=0.0, seed=0, progress=False,
                  device="cpu")
    params.update(kwargs)
    return AnomalyDetector(**params)


@pytest.fixture(scope="module")
def forecast_detector() -> AnomalyDetector:
    torch.set_num_threads(1)
    return small("forecast", quantile=1.0).fit(
        synthetic_seasonal(500), columns=["value"], time_col="t")


def test_forecast_method_flags_spike_and_level_shift_not_the_clean_part(forecast_detector):
    frame, labels = synthetic_with_anomalies()
    scores = forecast_detector.score(frame)
    flags = forecast_detector.predict(frame)
    assert isinstance(scores, pd.Series) and list(scores.index[:2]) == [500, 501]
    assert scores.iloc[:LOOKBACK].isna().all() and flags.iloc[:LOOKBACK].eq(0).all()
    assert flags.iloc[150] == 1
    assert flags.iloc[250:252].any()  # the shift is caught as it starts
    clean = np.r_[LOOKBACK:145, 175:245]
    assert flags.iloc[clean].sum() == 0
    assert scores.iloc[150] > 3 * scores.iloc[clean].max()
    intervals = forecast_detector.intervals(frame, min_gap=3)
    assert list(intervals.columns) == ["start", "end", "max_score"]
    assert ((intervals["start"] <= 650) & (intervals["end"] >= 650)).any()
    assert ((intervals["start"] <= 770) & (intervals["end"] >= 750)).any()


def test_reconstruction_method_flags_the_spike():
    torch.set_num_threads(1)
    det = small("reconstruction", latent_size=4, max_epochs=15, quantile=1.0)
    det.fit(synthetic_seasonal(400), columns="value", time_col="t")
    frame, _ = synthetic_with_anomalies()
    scores = np.asarray(det.score(frame))
    assert np.isfinite(scores).all()
    peak = int(np.argmax(scores[:200]))
    assert 150 - LOOKBACK < peak < 150 + LOOKBACK
    assert np.asarray(det.predict(frame))[150] == 1
    assert np.asarray(det.predict(frame))[40:120].sum() == 0


def test_multivariate_and_arrays():
    torch.set_num_threads(1)
    a = synthetic_seasonal(300)["value"].to_numpy()
    values = np.c_[a, np.roll(a, 5)]
    det = small("forecast", max_epochs=3).fit(values)
    assert det.columns_ == ("x0", "x1") and det.n_features_in_ == 2
    scores = det.score(values)
    assert isinstance(scores, np.ndarray) and scores.shape == (300,)
    det_max = small("forecast", max_epochs=3, combine="max").fit(values)
    assert np.nanmean(det_max.score(values)) > np.nanmean(scores)


def test_intervals_merge_with_min_gap(forecast_detector):
    frame, _ = synthetic_with_anomalies()
    scores = np.asarray(forecast_detector.score(frame))
    runs = forecast_detector.intervals(frame)
    merged = forecast_detector.intervals(frame, min_gap=5)
    everything = forecast_detector.intervals(frame, min_gap=1000)
    assert len(runs) >= len(merged) >= len(everything) == 1
    flagged_times = frame["t"][forecast_detector.flags(scores) == 1]
    assert everything["start"].iloc[0] == flagged_times.min()
    assert everything["end"].iloc[0] == flagged_times.max()
    assert everything["max_score"].iloc[0] == pytest.approx(np.nanmax(scores))
    for row in runs.itertuples():  # every run is flagged throughout, and bounded by unflagged
        inside = (frame["t"] >= row.start) & (frame["t"] <= row.end)
        assert forecast_detector.flags(scores)[inside.to_numpy()].all()


def test_thresholds_quantile_contamination_fixed_and_f1(forecast_detector):
    train = synthetic_seasonal(500)
    train_scores = np.asarray(forecast_detector.score(train))
    finite = train_scores[np.isfinite(train_scores)]
    assert forecast_detector.threshold_ == pytest.approx(finite.max())  # quantile=1.0

    frame, labels = synthetic_with_anomalies()
    scores = np.asarray(forecast_detector.score(frame))
    det = small("forecast", max_epochs=1, threshold="contamination", contamination=0.05)
    det.fit(train, columns=["value"], time_col="t")
    assert det.threshold_ is None
    n_finite = int(np.isfinite(scores).sum())
    assert det.flags(scores).sum() == round(0.05 * n_finite)
    assert det.threshold_for(scores) == np.sort(scores[np.isfinite(scores)])[::-1][
        round(0.05 * n_finite) - 1]

    det.fit_threshold(scores, labels)
    assert det.threshold_source_ == "f1"
    flags = det.flags(scores)
    tp = (flags & labels).sum()
    f1 = 2 * tp / (flags.sum() + labels.sum())
    assert det.threshold_f1_ == pytest.approx(f1)
    for other in np.unique(scores[np.isfinite(scores)]):  # no threshold does better
        f = (scores >= other).astype(int)
        assert 2 * (f & labels).sum() / (f.sum() + labels.sum()) <= f1 + 1e-12

    det.fit_threshold(scores, labels, metric=event_f1(tolerance=2))
    assert det.threshold_f1_ == 1.0

    fixed = small("forecast", max_epochs=1, threshold=2.5).fit(train, columns=["value"],
                                                                time_col="t")
    assert fixed.threshold_ == 2.5 and fixed.threshold_source_ == "fixed"
    s = np.array([2.4, 2.5, np.nan, 9.0])
    assert fixed.flags(s).tolist() == [0, 1, 0, 1]


def test_quantile_threshold_flags_that_share_of_training_rows():
    torch.set_num_threads(1)
    train = synthetic_seasonal(300)
    det = small("forecast", max_epochs=2, quantile=0.9).fit(train, time_col="t")
    scores = np.asarray(det.score(train))
    share = det.flags(scores).sum() / np.isfinite(scores).sum()
    assert 0.09 <= share <= 0.11


def test_save_load_gives_identical_scores(tmp_path, forecast_detector):
    frame, labels = synthetic_with_anomalies()
    forecast_detector.fit_threshold(forecast_detector.score(frame), labels)
    forecast_detector.save(tmp_path / "det")
    loaded = AnomalyDetector.load(tmp_path / "det")
    assert loaded.get_config() == forecast_detector.get_config()
    np.testing.assert_array_equal(np.asarray(loaded.score(frame)),
                                  np.asarray(forecast_detector.score(frame)))
    assert loaded.threshold_ == forecast_detector.threshold_
    assert loaded.threshold_source_ == "f1"
    np.testing.assert_array_equal(loaded.predict(frame), forecast_detector.predict(frame))
    assert not list(tmp_path.glob("det/*.pkl")) and (tmp_path / "det/model.safetensors").exists()


def test_save_load_reconstruction(tmp_path):
    torch.set_num_threads(1)
    train = synthetic_seasonal(120)
    det = small("reconstruction", max_epochs=1, threshold="contamination").fit(train["value"])
    det.save(tmp_path / "ae")
    loaded = AnomalyDetector.load(tmp_path / "ae")
    assert loaded.threshold_ is None
    np.testing.assert_array_equal(loaded.score(train["value"]), det.score(train["value"]))


def test_clear_errors(forecast_detector):
    train = synthetic_seasonal(200)
    bad = train.copy()
    bad.loc[37, "value"] = np.nan
    with pytest.raises(DataValidationError, match=r"column 'value' is nan in row 37 .*interpolate"):
        small().fit(bad, columns=["value"], time_col="t")
    with pytest.raises(DataValidationError, match=r"column\(s\) \['load'\] not in the data"):
        small().fit(train, columns=["load"], time_col="t")
    with pytest.raises(DataValidationError, match="has 10 rows; fitting the forecast method "
                                                  "needs at least 18"):
        small().fit(train.head(10), columns=["value"], time_col="t")
    with pytest.raises(DataValidationError, match="has 16 rows; scoring .* needs at least 17"):
        forecast_detector.score(train.head(16))
    with pytest.raises(DataValidationError, match=r"not in the data .* fitted on \['value'\]"):
        forecast_detector.score(train.rename(columns={"value": "v"}))
    with pytest.raises(DataValidationError, match="data has 2 column.*fitted on 1"):
        forecast_detector.score(np.zeros((50, 2)))
    with pytest.raises(DataValidationError, match="must increase strictly: row 5"):
        small().fit(train.iloc[[0, 1, 2, 3, 4, 4, 6] + list(range(7, 200))], time_col="t")
    with pytest.raises(ConfigError, match="method must be one of"):
        AnomalyDetector(method="magic").fit(train)
    with pytest.raises(ConfigError, match="threshold must be one of"):
        AnomalyDetector(threshold="best").fit(train)
    with pytest.raises(LstmkitError, match="not fitted yet"):
        AnomalyDetector().score(train)
    with pytest.raises(DataValidationError, match="labels hold no anomaly"):
        forecast_detector.fit_threshold(np.ones(5), np.zeros(5))


def test_autoencoder_shapes():
    net = LSTMAutoencoder(3, window=10, hidden_size=8, latent_size=2)
    x = torch.randn(4, 10, 3)
    assert net(x).shape == (4, 10, 3) and net.encode(x).shape == (4, 2)
    with pytest.raises(Exception, match="expected 10"):
        net(torch.randn(4, 9, 3))
