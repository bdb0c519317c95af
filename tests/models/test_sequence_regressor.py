"""SequenceRegressor: learns what a baseline cannot, survives save/load, names bad input."""

import json

import numpy as np
import pytest
import torch

from lstmkit.data.synthetic import adding_problem
from lstmkit.errors import DataValidationError, LstmkitError, ModelFileError
from lstmkit.models import SequenceRegressor


@pytest.fixture(scope="module")
def fitted():
    x, y = adding_problem(1500, 12, seed=1)
    model = SequenceRegressor(hidden_size=24, max_epochs=12, lr=5e-3, batch_size=32,
                              validation_fraction=0.1, progress=False).fit(x[:1200], y[:1200])
    return model, x[1200:], y[1200:], y[:1200]


def test_learns_the_adding_problem_far_below_the_mean_baseline(fitted):
    model, x_test, y_test, y_train = fitted
    mse = float(np.mean((model.predict(x_test) - y_test) ** 2))
    baseline = float(np.mean((y_train.mean() - y_test) ** 2))
    assert mse < 0.1 * baseline, (mse, baseline)
    assert model.score(x_test, y_test) > 0.9
    assert model.predict(x_test).shape == (len(x_test),)


def test_save_load_round_trip_gives_identical_predictions(fitted, tmp_path):
    model, x_test, _, _ = fitted
    model.save(tmp_path / "m")
    again = SequenceRegressor.load(tmp_path / "m")
    assert np.array_equal(again.predict(x_test), model.predict(x_test))
    assert again.get_config() == model.get_config()
    assert len(again.history_.records) == len(model.history_.records)


def test_variable_lengths_and_multi_target():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 7, 3))
    lengths = rng.integers(1, 8, size=64)
    y = np.stack([x[np.arange(64), lengths - 1, 0], x[:, 0, 1]], axis=1)
    model = SequenceRegressor(hidden_size=8, max_epochs=2, progress=False, cell="gru")
    pred = model.fit(x, y, lengths=lengths).predict(x, lengths=lengths)
    assert pred.shape == (64, 2)
    garbage = x.copy()
    for row, n in enumerate(lengths):
        garbage[row, n:] = 1e6  # padding content must not matter
    assert np.allclose(model.predict(garbage, lengths=lengths), pred)


def test_same_seed_same_model():
    x, y = adding_problem(200, 6, seed=3)
    a = SequenceRegressor(hidden_size=8, max_epochs=2, seed=5, progress=False).fit(x, y)
    b = SequenceRegressor(hidden_size=8, max_epochs=2, seed=5, progress=False).fit(x, y)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


@pytest.mark.parametrize(
    "x,y,lengths,match",
    [
        (np.zeros((4, 3)), np.zeros(4), None, r"3-D array.*got shape \(4, 3\)"),
        (np.zeros((4, 3, 2)), np.zeros(5), None, r"y must have shape \(4,\)"),
        (np.full((2, 3, 1), np.nan), np.zeros(2), None, r"X\[0, 0, 0\] is nan"),
        (np.zeros((2, 3, 1)), [0.0, np.inf], None, r"y\[1\] is not finite"),
        (np.zeros((2, 3, 1)), np.zeros(2), [3, 4], "sample 1 has length 4"),
        (np.zeros((2, 3, 1)), np.zeros(2), [1.5, 2], "lengths must be 2 integers"),
        ([["a"]], np.zeros(1), None, "X must be numeric"),
    ],
)
def test_bad_input_is_named(x, y, lengths, match):
    with pytest.raises(DataValidationError, match=match):
        SequenceRegressor(max_epochs=1, progress=False).fit(x, y, lengths=lengths)


def test_predict_before_fit_and_wrong_feature_count(fitted):
    with pytest.raises(LstmkitError, match="not fitted"):
        SequenceRegressor().predict(np.zeros((1, 2, 2)))
    model = fitted[0]
    with pytest.raises(DataValidationError, match="fitted on 2"):
        model.predict(np.zeros((1, 4, 3)))


def test_validation_fraction_must_leave_training_samples():
    x, y = adding_problem(10, 4)
    with pytest.raises(DataValidationError, match="leaves 0 for training"):
        SequenceRegressor(validation_fraction=0.96, progress=False).fit(x, y)


def test_a_failed_refit_leaves_the_fitted_model_untouched(fitted):
    model, x_test, _, _ = fitted
    before = model.predict(x_test)
    model.cell = "rnn"
    with pytest.raises(LstmkitError, match="cell must be one of"):
        model.fit(x_test * 100, x_test[:, 0, 0])
    model.cell = "lstm"
    assert np.array_equal(model.predict(x_test), before)


def test_edited_saved_state_is_a_model_file_error(fitted, tmp_path):
    model = fitted[0]
    model.save(tmp_path / "m")
    config_file = tmp_path / "m" / "config.json"
    header = json.loads(config_file.read_text())
    del header["extra"]["scaling"]
    config_file.write_text(json.dumps(header))
    with pytest.raises(ModelFileError, match="extra state does not fit"):
        SequenceRegressor.load(tmp_path / "m")
