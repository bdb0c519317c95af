"""A map-style dataset of forecast windows that gathers whole batches at once.

The stacked feature arrays are unfolded into windows as views; a batch is one indexed gather
(`__getitems__`), so no Python code runs per window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset


class WindowDataset(Dataset):
    """Windows (encoder (L, Fe), steps (H, Fd), target (H,)) at the given origins.

    The window at origin o reads encoder rows o-L .. o-1 and step/target rows o .. o+H-1.
    With `target_end` (one exclusive row bound per origin), targets at rows >= that bound
    are NaN: a partial window, whose horizon runs past the rows known for training, keeps
    the steps it has (the loss masks the NaN ones) and may start up to one row before it.
    """

    def __init__(self, encoder: np.ndarray, step: np.ndarray, target: np.ndarray,
                 origins: np.ndarray, lookback: int, horizon: int,
                 target_end: np.ndarray | None = None) -> None:
        if target_end is not None:  # rows past the last one only ever hold masked steps
            step = np.concatenate([step, np.zeros((horizon - 1, step.shape[1]), step.dtype)])
            target = np.concatenate([target, np.full(horizon - 1, np.nan, target.dtype)])
            self.target_end: Tensor | None = torch.as_tensor(
                np.asarray(target_end, dtype=np.int64))
        else:
            self.target_end = None
        self.encoder = torch.from_numpy(encoder).unfold(0, lookback, 1)  # (rows-L+1, Fe, L)
        self.step = torch.from_numpy(step).unfold(0, horizon, 1)  # (rows-H+1, Fd, H)
        self.target = torch.from_numpy(target).unfold(0, horizon, 1)  # (rows-H+1, H)
        self.origins = torch.as_tensor(np.asarray(origins, dtype=np.int64))
        self.lookback = lookback
        self.steps_ahead = torch.arange(horizon)

    def __len__(self) -> int:
        return len(self.origins)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor]:
        encoder, step, target = self.__getitems__([index])
        return encoder[0], step[0], target[0]

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor, Tensor]:
        which = torch.as_tensor(indices, dtype=torch.long)
        o = self.origins[which]
        target = self.target[o]
        if self.target_end is not None:
            unknown = o[:, None] + self.steps_ahead >= self.target_end[which, None]
            target = target.masked_fill(unknown, float("nan"))
        return (
            self.encoder[o - self.lookback].transpose(1, 2),
            self.step[o].transpose(1, 2),
            target,
        )

    @staticmethod
    def collate_fn(batch: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Batches arrive whole from `__getitems__`."""
        return batch
