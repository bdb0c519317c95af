"""`SequenceClassifier`: a scikit-learn style LSTM classifier for texts and frame sequences.

Two kinds of input, told apart automatically (or forced with ``input="text"``/``"frames"``):
- text: a list / Series / array of strings, or a DataFrame with a `text_col` column. Texts are
  tokenized and numbered by a `Vocabulary` fitted on the training texts only (words seen only
  at prediction time map to UNK) and embedded (`embedding_dim`); pretrained word vectors can
  initialise the embedding (`fit(..., word_vectors=...)`).
- frames: a list of (len_i, features) arrays, a 3-D array (n, time, features), or a long
  DataFrame with one row per frame (`id_col`, `frame_col`, `feature_cols`; see
  `lstmkit.data.sequences.frames_from_long`); one prediction per sequence, in the order in
  which the ids first appear. Features are standardised with the mean/std of the training
  frames only (``standardize=True``).

Labels may be any hashable values (strings, ints, ...); `classes_` holds them sorted when
they can be sorted, else in order of first appearance. Training runs on the shared `Trainer`
with cross-entropy (optionally class-weighted) over batches of similar-length sequences
(`BucketBatchSampler`), padded per batch by `PaddedSequenceDataset`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from lstmkit import io
from lstmkit.data.sequences import (
    BucketBatchSampler,
    PaddedSequenceDataset,
    check_sequences,
    frames_from_long,
)
from lstmkit.data.text import Vocabulary
from lstmkit.errors import ConfigError, DataValidationError
from lstmkit.models.base import BaseEstimator
from lstmkit.nn.classifier import SequenceClassifierNet
from lstmkit.training import TrainingHistory

INPUTS = ("auto", "text", "frames")


@io.register_model("sequence-classifier")
class SequenceClassifier(BaseEstimator):
    """LSTM (GRU, peephole) classifier of whole sequences: texts or real-valued frames.

    Network: `SequenceClassifierNet` (embedding or linear input -> recurrent layers -> pooling
    "last" / "mean" / "attention" -> dropout -> linear head). Text settings: `min_freq`,
    `max_vocab_size` (PAD and UNK included), `max_length` (longer texts keep their first
    `max_length` tokens, or their last with ``truncation="start"``), `lowercase`,
    `punctuation` ("split" or "drop"). Frames: `standardize`. DataFrame columns: `text_col`,
    or `id_col` / `frame_col` / `feature_cols` (default: every other numeric column).
    `class_weight`: None, "balanced" (n / (n_classes * count), from the training labels) or a
    {label: weight} dict (missing labels weigh 1). `validation_fraction` holds out a stratified
    random share of the training sequences (seeded) for early stopping and best-epoch
    restoring, unless `fit` gets `validation_data`.
    """

    def __init__(
        self,
        input: str = "auto",
        embedding_dim: int | None = 64,
        hidden_size: int = 64,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        pooling: str = "last",
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        compile: bool | str = "auto",
        min_freq: int = 1,
        max_vocab_size: int | None = 20000,
        max_length: int | None = None,
        truncation: str = "end",
        lowercase: bool = True,
        punctuation: str = "split",
        freeze_embeddings: bool = False,
        text_col: str = "text",
        id_col: str = "id",
        frame_col: str | None = "frame",
        feature_cols: list[str] | None = None,
        standardize: bool = True,
        class_weight: str | dict[Any, float] | None = None,
        max_epochs: int = 20,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        clip_norm: float | None = 1.0,
        lr_schedule: str = "constant",
        early_stopping_patience: int | None = None,
        validation_fraction: float = 0.0,
        seed: int = 0,
        device: str = "auto",
        precision: str = "float32",
        progress: bool | None = None,
    ) -> None:
        self.input = input
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.recurrent_dropout = recurrent_dropout
        self.compile = compile
        self.min_freq = min_freq
        self.max_vocab_size = max_vocab_size
        self.max_length = max_length
        self.truncation = truncation
        self.lowercase = lowercase
        self.punctuation = punctuation
        self.freeze_embeddings = freeze_embeddings
        self.text_col = text_col
        self.id_col = id_col
        self.frame_col = frame_col
        self.feature_cols = feature_cols
        self.standardize = standardize
        self.class_weight = class_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_norm = clip_norm
        self.lr_schedule = lr_schedule
        self.early_stopping_patience = early_stopping_patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.device = device
        self.precision = precision
        self.progress = progress

    # -- scikit-learn API -----------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any = None,
        validation_data: tuple[Any, Any] | None = None,
        word_vectors: Mapping[str, Any] | None = None,
    ) -> SequenceClassifier:
        """Train on sequences X and labels y; returns self.

        For a long DataFrame X, y is a label column of X (one value per id) or one label per
        sequence. `validation_data` = (X_val, y_val) is used for early stopping instead of
        `validation_fraction`. `word_vectors` maps tokens to vectors of length
        `embedding_dim` (text only): rows of known words start from them.
        """
        if self.input not in INPUTS:
            raise ConfigError(f"input must be one of {INPUTS}, got {self.input!r}")
        mode = self._mode(X, fitting=True)
        raw, labels, feature_cols = self._read(X, y, mode, None, None)
        if labels is None:
            raise DataValidationError("fit needs labels y (one per sequence)")
        classes = _classes(labels)
        if len(classes) < 2:
            raise DataValidationError(
                f"y holds a single class ({classes[0]!r}); a classifier needs at least two "
                "classes in the training data"
            )
        index = {c: i for i, c in enumerate(classes)}
        target = np.array([index[label] for label in labels], dtype=np.int64)

        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise DataValidationError("validation_data must be a pair (X_val, y_val)")
            width = raw[0].shape[1] if mode == "frames" else None
            raw_val, labels_val, _ = self._read(*validation_data, mode, feature_cols, width)
            val_target = _encode_labels(labels_val, index, "validation_data y")
            train_idx = np.arange(len(raw))
        else:
            train_idx, val_idx = _stratified_split(target, self.validation_fraction, self.seed)
            raw_val = [raw[i] for i in val_idx]
            val_target = target[val_idx]
        if self.early_stopping_patience is not None and not len(raw_val):
            raise ConfigError(
                "early_stopping_patience needs validation data: set validation_fraction > 0 or "
                "pass validation_data=(X_val, y_val) to fit"
            )
        raw_train = [raw[i] for i in train_idx]
        train_target = target[train_idx]

        if mode == "text":
            vocab = Vocabulary(
                self.min_freq, self.max_vocab_size, self.max_length, self.truncation,
                self.lowercase, self.punctuation,
            ).fit(raw_train)
            n_features, scaling = None, None
        else:
            vocab = None
            n_features = raw_train[0].shape[1]
            scaling = _fit_scaling(raw_train) if self.standardize else None
        network = self._build_network(len(classes), vocab, n_features)
        weights = self._class_weights(classes, train_target)
        # nothing fitted is replaced until the data and settings have passed every check
        self.input_, self.classes_, self.vocabulary_ = mode, np.asarray(classes), vocab
        self.n_features_in_, self.scaling_, self.feature_cols_ = n_features, scaling, feature_cols
        self.network_ = network
        self.n_pretrained_ = self._load_vectors(word_vectors) if word_vectors is not None else 0
        if self.freeze_embeddings and self.network_.embedding is not None:
            self.network_.embedding.weight.requires_grad_(False)

        train_seqs = self._prepare(raw_train)
        sampler = BucketBatchSampler(
            [len(s) for s in train_seqs], self.batch_size, shuffle=True, seed=self.seed
        )
        train_set = PaddedSequenceDataset(train_seqs, train_target)
        train = DataLoader(train_set, batch_sampler=sampler, collate_fn=train_set.collate_fn)
        val = self._loader(self._prepare(raw_val), val_target) if len(raw_val) else None
        loss = nn.CrossEntropyLoss(weight=None if weights is None else torch.tensor(weights))
        self.class_weights_ = weights
        self.history_: TrainingHistory = self._trainer().fit(self.network_, train, val, loss)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n_sequences, n_classes), columns in the order of `classes_`."""
        self._check_fitted()
        raw, _, _ = self._read(X, None, self._mode(X), self.feature_cols_, self.n_features_in_)
        seqs = self._prepare(raw)
        loader = self._loader(seqs, None)
        logits = self._trainer().predict(self.network_, loader)  # in length-sorted order
        order = np.concatenate(list(loader.batch_sampler))
        out = np.empty((len(seqs), len(self.classes_)))
        out[order] = torch.softmax(logits.double(), dim=1).numpy()
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sequence (values from `classes_`)."""
        self._check_fitted()
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of `predict(X)` against the labels y."""
        self._check_fitted()
        mode, width = self._mode(X), self.n_features_in_
        _, labels, _ = self._read(X, y, mode, self.feature_cols_, width)
        index = {c: i for i, c in enumerate(_plain(c) for c in self.classes_)}
        truth = _encode_labels(labels, index, "y")
        return float(np.mean(self.predict_proba(X).argmax(axis=1) == truth))

    def transform_text(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids of texts under the fitted vocabulary (what the network sees)."""
        self._check_fitted()
        if self.vocabulary_ is None:
            raise ConfigError("this SequenceClassifier was fitted on frames, not text")
        return self.vocabulary_.encode(texts)

    # -- persistence ----------------------------------------------------------------------

    def get_extra(self) -> dict[str, Any]:
        return {
            "input": self.input_,
            "classes": [_plain(c) for c in self.classes_],
            "vocabulary": None if self.vocabulary_ is None else self.vocabulary_.to_dict(),
            "n_features_in": self.n_features_in_,
            "scaling": self.scaling_,
            "feature_cols": self.feature_cols_,
            "class_weights": self.class_weights_,
            "n_pretrained": self.n_pretrained_,
            "history": self.history_.to_dict(),
        }

    def set_extra(self, extra: dict[str, Any]) -> None:
        self.input_ = str(extra["input"])
        self.classes_ = np.asarray(extra["classes"])
        vocab = extra["vocabulary"]
        self.vocabulary_ = None if vocab is None else Vocabulary.from_dict(vocab)
        self.n_features_in_ = extra["n_features_in"]
        self.scaling_ = extra["scaling"]
        self.feature_cols_ = extra["feature_cols"]
        self.class_weights_ = extra["class_weights"]
        self.n_pretrained_ = int(extra["n_pretrained"])
        self.history_ = TrainingHistory.from_dict(extra["history"])
        self.network_ = self._build_network(
            len(self.classes_), self.vocabulary_, self.n_features_in_
        )

    # -- helpers --------------------------------------------------------------------------

    def _mode(self, X: Any, fitting: bool = False) -> str:
        if self._is_fitted() and not fitting:
            mode = self.input_
        elif self.input != "auto":
            mode = self.input
        else:
            mode = _detect_input(X, self.text_col, self.id_col)
        if mode == "text" and isinstance(X, np.ndarray) and X.ndim == 3:
            raise DataValidationError("X is a 3-D numeric array, but the model expects texts")
        return mode

    def _read(
        self, X: Any, y: Any, mode: str, feature_cols: list[str] | None, n_features: int | None
    ) -> tuple[list[Any], list[Any] | None, list[str] | None]:
        """X, y -> (raw sequences: texts or validated frame arrays, labels or None, columns)."""
        if isinstance(X, pd.DataFrame):
            if mode == "text":
                if self.text_col not in X.columns:
                    raise DataValidationError(
                        f"text_col={self.text_col!r} is not a column of X; the columns are "
                        f"{list(X.columns)}"
                    )
                raw = list(X[self.text_col])
                if isinstance(y, str) and y in X.columns:
                    y = X[y]
            else:
                label_col = y if isinstance(y, str) and y in X.columns else None
                cols = feature_cols if feature_cols is not None else self.feature_cols
                raw, _, per_id = frames_from_long(X, self.id_col, self.frame_col, cols, label_col)
                if feature_cols is None:
                    feature_cols = cols if cols is not None else _numeric_features(
                        X, {self.id_col, self.frame_col, label_col}
                    )
                if label_col is not None:
                    y = per_id
        elif mode == "text":
            raw = _as_list(X)
            if not raw:
                raise DataValidationError("X holds no texts")
            bad = next((i for i, t in enumerate(raw) if not isinstance(t, str)), None)
            if bad is not None:
                raise DataValidationError(
                    f"text {bad} is {raw[bad]!r} ({type(raw[bad]).__name__}), not a string; "
                    "fill or drop missing texts before fitting or predicting"
                )
        else:
            raw = _as_list(X)
        if mode == "frames":
            raw = check_sequences(raw, "frames", n_features)
        labels = None if y is None else _labels(y, len(raw))
        return raw, labels, feature_cols

    def _prepare(self, raw: list[Any]) -> list[np.ndarray]:
        """Raw texts or frames -> what the network reads (ids, or standardised float32)."""
        if self.input_ == "text":
            return self.vocabulary_.encode(raw)
        if self.scaling_ is None:
            return [np.asarray(x, dtype=np.float32) for x in raw]
        mean, std = np.asarray(self.scaling_["mean"]), np.asarray(self.scaling_["std"])
        return [((x - mean) / std).astype(np.float32) for x in raw]

    def _loader(self, seqs: list[np.ndarray], target: np.ndarray | None) -> DataLoader:
        """Batches of length-sorted sequences, for evaluation and prediction."""
        data = PaddedSequenceDataset(seqs, target)
        sampler = BucketBatchSampler(data.lengths, max(self.batch_size, 256), shuffle=False)
        return DataLoader(data, batch_sampler=sampler, collate_fn=data.collate_fn)

    def _build_network(
        self, n_classes: int, vocab: Vocabulary | None, n_features: int | None
    ) -> SequenceClassifierNet:
        torch.manual_seed(self.seed)
        return SequenceClassifierNet(
            n_classes, vocab_size=None if vocab is None else len(vocab),
            input_size=n_features, embedding_dim=self.embedding_dim,
            hidden_size=self.hidden_size, num_layers=self.num_layers, cell=self.cell,
            bidirectional=self.bidirectional, dropout=self.dropout,
            input_dropout=self.input_dropout, recurrent_dropout=self.recurrent_dropout,
            pooling=self.pooling, compile=self.compile,
        )

    def _class_weights(self, classes: list[Any], target: np.ndarray) -> list[float] | None:
        cw = self.class_weight
        if cw is None:
            return None
        if cw == "balanced":
            counts = np.bincount(target, minlength=len(classes)).astype(float)
            counts[counts == 0] = 1.0
            return (len(target) / (len(classes) * counts)).tolist()
        if isinstance(cw, Mapping):
            unknown = [k for k in cw if k not in set(classes) and str(k) not in
                       {str(c) for c in classes}]
            if unknown:
                raise ConfigError(
                    f"class_weight names labels {unknown[:5]} that are not in y; the classes "
                    f"are {classes[:10]}"
                )
            by_str = {str(k): float(v) for k, v in cw.items()}
            weights = [float(cw.get(c, by_str.get(str(c), 1.0))) for c in classes]
            if not all(np.isfinite(w) and w > 0 for w in weights):
                raise ConfigError(f"class weights must be positive numbers, got {weights}")
            return weights
        raise ConfigError(
            f"class_weight must be None, 'balanced' or a {{label: weight}} dict, got {cw!r}"
        )

    def _load_vectors(self, word_vectors: Mapping[str, Any]) -> int:
        """Copy vectors of vocabulary words into the embedding; returns how many were found."""
        if self.vocabulary_ is None:
            raise ConfigError("word_vectors only apply to text input")
        weight = self.network_.embedding.weight
        found = 0
        with torch.no_grad():
            for i, token in enumerate(self.vocabulary_.tokens[2:], start=2):
                vector = word_vectors.get(token)
                if vector is None:
                    continue
                vector = torch.as_tensor(np.asarray(vector, dtype=np.float32))
                if vector.shape != (weight.shape[1],):
                    raise ConfigError(
                        f"word vector of {token!r} has shape {tuple(vector.shape)}, but "
                        f"embedding_dim={weight.shape[1]}; set embedding_dim to the vectors' size"
                    )
                weight[i] = vector
                found += 1
        return found


# ----------------------------------------------------------------------------- helpers


def _detect_input(X: Any, text_col: str, id_col: str) -> str:
    if isinstance(X, pd.DataFrame):
        if text_col in X.columns and not pd.api.types.is_numeric_dtype(X[text_col]):
            return "text"
        if id_col in X.columns:
            return "frames"
        raise DataValidationError(
            f"cannot tell what the DataFrame holds: it has neither a text column "
            f"{text_col!r} nor an id column {id_col!r} (columns: {list(X.columns)}); set "
            "text_col=... or id_col=... (and frame_col), or pass input='text'/'frames'"
        )
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return "frames"
    items = _as_list(X)
    if not items:
        raise DataValidationError("X is empty; pass at least one sequence")
    return "text" if isinstance(items[0], str) else "frames"


def _as_list(X: Any) -> list[Any]:
    if isinstance(X, str):
        raise DataValidationError("X is a single string; pass a list of texts, e.g. [text]")
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray) and X.ndim >= 2 and X.dtype != object:
        return list(X)
    try:
        return list(X)
    except TypeError as err:
        raise DataValidationError(
            f"X must be a list of texts or of (length, features) arrays, got {type(X).__name__}"
        ) from err


def _numeric_features(frame: pd.DataFrame, exclude: set[Any]) -> list[str]:
    return [
        c for c in frame.columns
        if c not in exclude and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _plain(value: Any) -> Any:
    """NumPy scalars -> Python scalars (hashable, JSON-able, equal across dtypes)."""
    return value.item() if isinstance(value, np.generic) else value


def _labels(y: Any, n: int) -> list[Any]:
    labels = [_plain(v) for v in (y.tolist() if isinstance(y, pd.Series | np.ndarray) else y)]
    if len(labels) != n:
        raise DataValidationError(f"y has {len(labels)} labels for {n} sequences; give one each")
    for i, label in enumerate(labels):
        if label is None or (isinstance(label, float) and np.isnan(label)):
            raise DataValidationError(f"label {i} is missing ({label!r}); drop that sequence")
        try:
            hash(label)
        except TypeError as err:
            raise DataValidationError(
                f"label {i} ({label!r}) is not hashable; labels must be strings, numbers or "
                "other hashable values"
            ) from err
    return labels


def _classes(labels: list[Any]) -> list[Any]:
    unique = list(dict.fromkeys(labels))
    try:
        return sorted(unique)
    except TypeError:
        return unique


def _encode_labels(labels: list[Any] | None, index: dict[Any, int], what: str) -> np.ndarray:
    if labels is None:
        raise DataValidationError(f"{what} is missing; give one label per sequence")
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        if label not in index:
            raise DataValidationError(
                f"{what}[{i}] = {label!r} is not a class the model was trained on; known "
                f"classes: {list(index)[:20]}"
            )
        out[i] = index[label]
    return out


def _stratified_split(
    target: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split: about `fraction` of each class goes to validation."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not (
        0 <= fraction < 1
    ):
        raise ConfigError(f"validation_fraction must be in [0, 1), got {fraction!r}")
    if fraction == 0:
        return np.arange(len(target)), np.arange(0)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(target):
        members = rng.permutation(np.flatnonzero(target == c))
        val.extend(members[: int(round(len(members) * fraction))])
    val = np.sort(np.asarray(val, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(target)), val)
    if len(val) == 0 or len(train) == 0:
        raise DataValidationError(
            f"validation_fraction={fraction} of {len(target)} sequences leaves {len(train)} "
            f"for training and {len(val)} for validation; use more data or another fraction"
        )
    return train, val


def _fit_scaling(frames: list[np.ndarray]) -> dict[str, list[float]]:
    """Per-feature mean/std of every training frame (std 0 -> 1)."""
    stacked = np.concatenate(frames, axis=0)
    std = stacked.std(axis=0)
    return {"mean": stacked.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}
