"""Synthetic sequence tasks with a known answer (never presented as real data)."""

from __future__ import annotations

import numpy as np

from lstmkit.errors import ConfigError


def adding_problem(
    n_samples: int, length: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem of Hochreiter & Schmidhuber (1997).

    Each sequence has `length` steps of two features: a value drawn from U(0, 1) and a marker
    that is 1 at exactly two random steps. The target is the sum of the two marked values, so a
    model must remember values across up to `length` steps. Predicting the mean scores an MSE
    of about 1/6 (the variance of a sum of two U(0, 1) values).

    Returns X (n_samples, length, 2) and y (n_samples,).
    """
    if n_samples < 1 or length < 2:
        raise ConfigError(f"need n_samples >= 1 and length >= 2, got {n_samples}, {length}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, (n_samples, length))
    marked = rng.random((n_samples, length)).argsort(axis=1)[:, :2]  # two distinct steps a row
    markers = np.zeros((n_samples, length))
    np.put_along_axis(markers, marked, 1.0, axis=1)
    return np.stack([values, markers], axis=-1), (values * markers).sum(axis=1)
