"""Variable-length sequences: validation, padding, length-bucketed batches, long frames.

A sequence is a (len_i,) array of token ids or a (len_i, features) array of real-valued
frames. `pad_sequences` stacks a list of them into one array padded at the end plus their
lengths; `BucketBatchSampler` groups sequences of similar length into the same batch (shuffle,
cut into chunks of many batches, sort each chunk by length, cut into batches, shuffle the
batches) so little compute goes to padding; `PaddedSequenceDataset` pads a whole batch in one
`__getitems__` call, as `Trainer` and `DataLoader` expect. `frames_from_long` turns a long
DataFrame (one row per frame, an id and a frame-order column) into sequences.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from lstmkit.errors import ConfigError, DataValidationError


def check_sequences(
    sequences: Sequence[Any], kind: str = "frames", n_features: int | None = None
) -> list[np.ndarray]:
    """Validate and convert sequences; errors name the sequence index and the fix.

    kind "ids": each a 1-D array of non-negative integers. kind "frames": each a
    (len_i, features) float array (a 1-D array is one feature), the same number of features
    everywhere (`n_features` when given), every value finite. Every sequence needs >= 1 step.
    """
    if kind not in ("ids", "frames"):
        raise ConfigError(f"kind must be 'ids' or 'frames', got {kind!r}")
    if len(sequences) == 0:
        raise DataValidationError("no sequences given; pass at least one")
    out: list[np.ndarray] = []
    for i, seq in enumerate(sequences):
        if kind == "ids":
            arr = np.asarray(seq)
            if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
                raise DataValidationError(
                    f"sequence {i} must be a 1-D array of integer token ids, got "
                    f"{arr.dtype} array of shape {arr.shape}"
                )
            if arr.size and arr.min() < 0:
                raise DataValidationError(f"sequence {i} holds a negative token id {arr.min()}")
            arr = arr.astype(np.int64)
        else:
            try:
                arr = np.asarray(seq, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise DataValidationError(
                    f"sequence {i} is not a numeric (length, features) array: {err}"
                ) from err
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2:
                raise DataValidationError(
                    f"sequence {i} must be a (length, features) array, got shape {arr.shape}"
                )
            width = arr.shape[1] if n_features is None else n_features
            if arr.shape[1] != width:
                raise DataValidationError(
                    f"sequence {i} has {arr.shape[1]} features per frame but the "
                    f"{'model was fitted on' if not out else 'first sequence has'} {width}; "
                    "every frame needs the same features in the same order"
                )
            n_features = width
            bad = ~np.isfinite(arr)
            if bad.any():
                step, feature = np.argwhere(bad)[0]
                raise DataValidationError(
                    f"sequence {i} has {arr[step, feature]} at frame {step}, feature {feature}; "
                    "impute or drop missing values before fitting or predicting"
                )
        if len(arr) == 0:
            raise DataValidationError(
                f"sequence {i} is empty; every sequence needs at least one step (drop it)"
            )
        out.append(arr)
    return out


def pad_sequences(
    sequences: Sequence[np.ndarray], padding_value: float = 0, dtype: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Stack (len_i,) or (len_i, F) arrays into (B, T) or (B, T, F), padded at the end.

    Returns (batch, lengths) with T = max(len_i) and lengths int64 (B,). Arrays are taken as
    they are (validate them with `check_sequences` first).
    """
    if len(sequences) == 0:
        raise DataValidationError("cannot pad an empty list of sequences")
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    first = np.asarray(sequences[0])
    dtype = first.dtype if dtype is None else dtype
    batch = np.full((len(sequences), int(lengths.max()), *first.shape[1:]), padding_value, dtype)
    for i, seq in enumerate(sequences):
        batch[i, : lengths[i]] = seq
    return batch, lengths


def padding_fraction(lengths: np.ndarray, batches: Sequence[Sequence[int]]) -> float:
    """Share of padded steps in `batches` (lists of indices into `lengths`)."""
    lengths = np.asarray(lengths)
    padded = total = 0
    for batch in batches:
        b = lengths[np.asarray(batch)]
        padded += int(b.max()) * len(b)
        total += int(b.sum())
    return 1 - total / padded if padded else 0.0


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths.

    With `shuffle`, every pass shuffles the indices, cuts them into chunks of
    ``batch_size * bucket_batches`` indices, sorts each chunk by length, cuts it into batches
    and shuffles the order of all batches; the generator is seeded from (seed, pass number),
    so the same seed gives the same batches. Without `shuffle`, all indices are sorted by
    length (stable) and cut into batches: the least padding, for prediction.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        bucket_batches: int = 50,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("bucket_batches", bucket_batches)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.bucket_batches = bucket_batches
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        n, size = len(self.lengths), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            batches = [order[i : i + size] for i in range(0, n, size)]
        else:
            rng = np.random.default_rng([self.seed, self.epoch])
            self.epoch += 1
            order = rng.permutation(n)
            chunk = size * self.bucket_batches
            batches = []
            for start in range(0, n, chunk):
                part = order[start : start + chunk]
                part = part[np.argsort(self.lengths[part], kind="stable")]
                batches.extend(part[i : i + size] for i in range(0, len(part), size))
            batches = [batches[i] for i in rng.permutation(len(batches))]
        for batch in batches:
            if self.drop_last and len(batch) < size:
                continue
            yield batch.tolist()


class PaddedSequenceDataset(Dataset):
    """Sequences (+ integer targets) whose batches come padded: (x, lengths, target).

    x is (B, T) int64 for token ids or (B, T, F) float32 for frames, padded with
    `padding_value`; lengths (B,) int64; target (B,) int64 (zeros when no targets were given).
    """

    def __init__(
        self,
        sequences: Sequence[np.ndarray],
        targets: np.ndarray | None = None,
        padding_value: float = 0,
    ) -> None:
        if len(sequences) == 0:
            raise DataValidationError("a PaddedSequenceDataset needs at least one sequence")
        self.sequences = list(sequences)
        self.lengths = np.fromiter((len(s) for s in self.sequences), np.int64, len(self.sequences))
        if targets is None:
            targets = np.zeros(len(self.sequences), dtype=np.int64)
        self.targets = torch.as_tensor(np.asarray(targets, dtype=np.int64))
        if len(self.targets) != len(self.sequences):
            raise DataValidationError(
                f"{len(self.targets)} targets for {len(self.sequences)} sequences; give one each"
            )
        is_ids = np.issubdtype(np.asarray(self.sequences[0]).dtype, np.integer)
        self.dtype = np.int64 if is_ids else np.float32
        self.padding_value = padding_value

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        x, lengths, target = self.__getitems__([index])
        return x[0], lengths[0], target[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor, Tensor]:
        batch, lengths = pad_sequences(
            [self.sequences[i] for i in indices], self.padding_value, self.dtype
        )
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return torch.from_numpy(batch), torch.from_numpy(lengths), self.targets[index]

    @staticmethod
    def collate_fn(batch: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Batches arrive whole from `__getitems__`."""
        return batch


def frames_from_long(
    frame: pd.DataFrame,
    id_col: str,
    frame_col: str | None = None,
    feature_cols: Sequence[str] | None = None,
    label_col: str | None = None,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Long DataFrame (one row per frame) -> (sequences, ids, labels).

    Sequences come in the order of first appearance of each id, frames sorted by `frame_col`
    (kept in row order when None). `feature_cols` default: every numeric column except the id,
    frame and label columns. With `label_col`, each id must carry one label (returned per id).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"expected a DataFrame, got {type(frame).__name__}")
    named = {"id_col": id_col, "frame_col": frame_col, "label_col": label_col}
    for what, col in named.items():
        if col is not None and col not in frame.columns:
            raise DataValidationError(
                f"{what}={col!r} is not a column; the columns are {list(frame.columns)}"
            )
    if len(frame) == 0:
        raise DataValidationError("the DataFrame has no rows")
    if frame[id_col].isna().any():
        row = frame.index[frame[id_col].isna()][0]
        raise DataValidationError(f"row {row} has no {id_col!r}; drop it or give it an id")
    special = {c for c in named.values() if c is not None}
    if feature_cols is None:
        feature_cols = [
            c for c in frame.columns
            if c not in special and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]
        if not feature_cols:
            raise DataValidationError(
                f"no numeric feature columns besides {sorted(special)}; pass feature_cols"
            )
    feature_cols = list(feature_cols)
    missing = [c for c in feature_cols if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"feature columns {missing} are not in the DataFrame; columns: {list(frame.columns)}"
        )
    non_numeric = [c for c in feature_cols if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise DataValidationError(f"feature columns {non_numeric} are not numeric")
    first_seen = pd.unique(frame[id_col])
    if frame_col is not None:
        frame = frame.sort_values([frame_col], kind="stable")
        duplicated = frame.duplicated([id_col, frame_col])
        if duplicated.any():
            row = frame.index[duplicated][0]
            raise DataValidationError(
                f"row {row}: {id_col}={_py(frame.at[row, id_col])!r} has {frame_col}="
                f"{_py(frame.at[row, frame_col])!r} twice; each frame of a sequence must be unique"
            )
    groups = frame.groupby(id_col, sort=False)
    values = frame[feature_cols].to_numpy(dtype=np.float64)
    positions = groups.indices  # id -> positions of its rows, in frame order
    sequences: list[np.ndarray] = []
    labels = [] if label_col is not None else None
    for key in first_seen:
        rows = positions[key]
        shown = _py(key)
        seq = values[rows]
        bad = ~np.isfinite(seq)
        if bad.any():
            step, feature = np.argwhere(bad)[0]
            raise DataValidationError(
                f"sequence {len(sequences)} ({id_col}={shown!r}) has {seq[step, feature]} in "
                f"{feature_cols[feature]!r} at frame {step}; impute or drop missing values"
            )
        sequences.append(seq)
        if labels is not None:
            seen = pd.unique(frame[label_col].to_numpy()[rows])
            if len(seen) != 1:
                raise DataValidationError(
                    f"{id_col}={shown!r} has {len(seen)} different {label_col!r} values "
                    f"{list(seen)[:5]}; every sequence needs exactly one label"
                )
            labels.append(_py(seen[0]))
    return sequences, np.asarray(first_seen), (None if labels is None else np.asarray(labels))


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
