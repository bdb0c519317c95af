"""`SequenceClassifier`: learning frames and word order, save/load, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

import lstmkit
from lstmkit.errors import ConfigError, DataValidationError, LstmkitError
from lstmkit.models.sequence_classifier import SequenceClassifier

FAST = {"hidden_size": 16, "embedding_dim": 8, "batch_size": 32, "lr": 1e-2, "progress": False}


def make_frames(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Three kinds of noisy 2-feature sequences of 10..30 frames, in physical units."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    names = np.array(["slow", "fast", "ramp"])
    for i in range(n):
        k = i % 3
        t = np.arange(rng.integers(10, 31))
        phase = rng.uniform(0, 2 * np.pi)
        signal = [np.sin(0.3 * t + phase), np.sin(1.5 * t + phase), np.linspace(-1, 1, len(t))][k]
        x = np.stack([signal, rng.normal(size=len(t))], axis=1) + rng.normal(0, 0.2, (len(t), 2))
        seqs.append(100 + 50 * x)  # far from standardised: scaling must happen inside
        labels.append(names[k])
    return seqs, np.asarray(labels)


@pytest.fixture(scope="module")
def fitted_frames() -> tuple[SequenceClassifier, list[np.ndarray], np.ndarray]:
    threads = torch.get_num_threads()  # module fixtures run before the one-thread fixture
    torch.set_num_threads(1)
    try:
        x, y = make_frames(300, 0)
        model = SequenceClassifier(max_epochs=12, seed=0, **FAST).fit(x, y)
    finally:
        torch.set_num_threads(threads)
    return model, *make_frames(150, 1)


def test_learns_a_frames_task(fitted_frames) -> None:
    model, x_test, y_test = fitted_frames
    assert model.input_ == "frames" and model.classes_.tolist() == ["fast", "ramp", "slow"]
    assert model.score(x_test, y_test) >= 0.9
    proba = model.predict_proba(x_test)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)
    assert (model.predict(x_test) == model.classes_[proba.argmax(axis=1)]).all()
    mean = np.concatenate(make_frames(300, 0)[0]).mean(axis=0)
    np.testing.assert_allclose(model.scaling_["mean"], mean)  # fitted on the training frames


def test_save_load_gives_identical_probabilities(fitted_frames, tmp_path: Path) -> None:
    model, x_test, _ = fitted_frames
    model.save(tmp_path / "clf")
    again = SequenceClassifier.load(tmp_path / "clf")
    np.testing.assert_array_equal(again.predict_proba(x_test), model.predict_proba(x_test))
    assert again.classes_.tolist() == model.classes_.tolist()
    assert isinstance(lstmkit.load(tmp_path / "clf"), SequenceClassifier)


def test_long_dataframe_input_with_a_label_column(tmp_path: Path) -> None:
    x, y = make_frames(90, 2)
    rows = [
        {"utt": f"u{i}", "t": t, "a": f[0], "b": f[1], "who": label}
        for i, (seq, label) in enumerate(zip(x, y, strict=True)) for t, f in enumerate(seq)
    ]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # row order must not matter
    model = SequenceClassifier(id_col="utt", frame_col="t", max_epochs=2, seed=0, **FAST)
    model.fit(frame, "who")
    assert model.input_ == "frames" and model.feature_cols_ == ["a", "b"]
    assert model.predict_proba(frame).shape == (90, 3)
    model.save(tmp_path / "m")
    again = SequenceClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba(frame), model.predict_proba(frame))


FILLER = ["the", "movie", "was", "really", "quite", "plot", "acting", "overall", "i", "think"]
# label = sentiment of the last sentiment word, flipped when "not" stands right before it
PATTERNS = [(["good"], "pos"), (["bad"], "neg"), (["not", "good"], "neg"),
            (["not", "bad"], "pos"), (["good", "not", "bad"], "pos"),
            (["bad", "not", "good"], "neg")]


def make_negation(n: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts whose label depends on word order; the last two patterns share one bag of words."""
    rng = np.random.default_rng(seed)
    texts, labels, kinds = [], [], []
    for i in range(n):
        kind = i % len(PATTERNS)
        core, label = PATTERNS[kind]
        words = list(rng.choice(FILLER, rng.integers(0, 4)))
        for j, word in enumerate(core):
            words.append(word)
            if word != "not" and j < len(core) - 1 and rng.random() < 0.5:
                words.extend(rng.choice(FILLER, rng.integers(1, 3)))
        words.extend(rng.choice(FILLER, rng.integers(0, 4)))
        texts.append(" ".join(words))
        labels.append(label)
        kinds.append(kind)
    return texts, np.asarray(labels), np.asarray(kinds)


def test_word_order_matters_the_lstm_learns_it_and_bag_of_words_cannot() -> None:
    train, y_train, _ = make_negation(600, 0)
    test, y_test, kinds = make_negation(300, 1)
    model = SequenceClassifier(max_epochs=8, seed=0, **FAST).fit(train, y_train)
    assert model.input_ == "text"
    lstm = model.predict(test)
    assert (lstm == y_test).mean() >= 0.95
    order_dependent = kinds >= 4  # "good ... not bad" vs "bad ... not good"
    assert (lstm == y_test)[order_dependent].mean() >= 0.95

    counts = CountVectorizer(token_pattern=r"[a-z']+")
    bow = LogisticRegression(max_iter=1000).fit(counts.fit_transform(train), y_train)
    bow_pred = bow.predict(counts.transform(test))
    assert (bow_pred == y_test)[order_dependent].mean() <= 0.65
    assert (bow_pred == y_test).mean() <= 0.65  # "not" flips both words: not linearly separable


def test_text_model_round_trips_and_handles_unseen_words(tmp_path: Path) -> None:
    train, y_train, _ = make_negation(60, 0)
    model = SequenceClassifier(max_epochs=1, max_length=6, pooling="attention", seed=0, **FAST)
    model.fit(pd.Series(train), y_train)
    assert model.transform_text(["zebra good"])[0][0] == 1  # unseen word -> UNK
    texts = ["", "completely unseen words", "good not bad"]
    proba = model.predict_proba(texts)
    model.save(tmp_path / "t")
    np.testing.assert_array_equal(SequenceClassifier.load(tmp_path / "t").predict_proba(texts),
                                  proba)


def test_same_seed_same_model_and_validation_split_stops_early() -> None:
    x, y = make_frames(90, 3)
    settings = {**FAST, "max_epochs": 3, "validation_fraction": 0.2, "seed": 5}
    a = SequenceClassifier(early_stopping_patience=1, **settings).fit(x, y)
    b = SequenceClassifier(early_stopping_patience=1, **settings).fit(x, y)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))
    assert all(v is not None for v in a.history_.val_losses)


def test_class_weights_and_validation_data() -> None:
    x, y = make_frames(60, 4)
    model = SequenceClassifier(class_weight="balanced", max_epochs=1, **FAST)
    model.fit(x[:50], y[:50], validation_data=(x[50:], y[50:]))
    assert len(model.class_weights_) == 3 and model.history_.val_losses[0] is not None
    weighted = SequenceClassifier(class_weight={"fast": 3.0}, max_epochs=1, **FAST).fit(x, y)
    assert weighted.class_weights_ == [3.0, 1.0, 1.0]
    with pytest.raises(ConfigError, match="not in y"):
        SequenceClassifier(class_weight={"nope": 2.0}, max_epochs=1, **FAST).fit(x, y)


def test_integer_labels_and_pretrained_word_vectors() -> None:
    texts = ["good film", "bad film", "good plot", "bad plot"]
    vectors = {"good": np.ones(8), "bad": -np.ones(8)}
    model = SequenceClassifier(max_epochs=1, freeze_embeddings=True, **FAST)
    model.fit(texts, [1, 0, 1, 0], word_vectors=vectors)
    assert model.n_pretrained_ == 2 and model.classes_.tolist() == [0, 1]
    row = model.vocabulary_.index["good"]
    assert (model.network_.embedding.weight[row] == 1).all()  # frozen: still the vector
    assert set(model.predict(texts).tolist()) <= {0, 1}
    with pytest.raises(ConfigError, match="embedding_dim"):
        SequenceClassifier(max_epochs=1, **FAST).fit(texts, [1, 0, 1, 0],
                                                     word_vectors={"good": np.ones(3)})


def test_errors_name_the_problem() -> None:
    x, y = make_frames(12, 5)
    with pytest.raises(DataValidationError, match="single class"):
        SequenceClassifier(**FAST).fit(x, ["a"] * 12)
    with pytest.raises(DataValidationError, match="11 labels for 12 sequences"):
        SequenceClassifier(**FAST).fit(x, y[:11])
    with pytest.raises(DataValidationError, match="label 3 is missing"):
        SequenceClassifier(**FAST).fit(["a b"] * 5, ["x", "y", "x", None, "y"])
    with pytest.raises(DataValidationError, match="text 2 is"):
        SequenceClassifier(**FAST).fit(["a", "b", 3], ["x", "y", "x"])
    with pytest.raises(LstmkitError, match="not fitted"):
        SequenceClassifier().predict(x)
    with pytest.raises(ConfigError, match="early_stopping_patience needs validation"):
        SequenceClassifier(early_stopping_patience=2, **FAST).fit(x, y)
    model = SequenceClassifier(max_epochs=1, **FAST).fit(x, y)
    with pytest.raises(DataValidationError, match=r"y\[0\] = 'loud' is not a class"):
        model.score(x[:2], ["loud", "slow"])
    with pytest.raises(DataValidationError, match="sequence 0 has 3 features"):
        model.predict([np.zeros((4, 3))])
    nan = x[1].copy()
    nan[0, 0] = np.nan
    with pytest.raises(DataValidationError, match="sequence 1 has nan at frame 0"):
        model.predict([x[0], nan])
    with pytest.raises(DataValidationError, match="single string"):
        SequenceClassifier(**FAST).fit("good", ["x"])
