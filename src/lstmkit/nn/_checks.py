"""Boundary checks for tensors entering `lstmkit.nn`: clear errors, never deep tracebacks."""

from __future__ import annotations

import torch

from lstmkit.errors import ConfigError, ShapeError


def check_float(x: object, name: str) -> torch.Tensor:
    """Require a floating-point tensor."""
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ShapeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
            f"convert it with .float()"
        )
    return x


def check_rank(x: torch.Tensor, ndim: int, name: str, layout: str) -> torch.Tensor:
    """Require `x.dim() == ndim`; `layout` names the axes, e.g. '(batch, time, features)'."""
    if x.dim() != ndim:
        raise ShapeError(
            f"{name} must be a {ndim}-D tensor {layout}, got shape {tuple(x.shape)}"
        )
    return x


def check_size(x: torch.Tensor, dim: int, size: int, name: str, what: str) -> torch.Tensor:
    """Require `x.shape[dim] == size`; `what` names the axis, e.g. 'input_size'."""
    if x.shape[dim] != size:
        raise ShapeError(
            f"{name} has {x.shape[dim]} {what} (axis {dim} of shape {tuple(x.shape)}), "
            f"expected {size}"
        )
    return x


def check_positive_int(value: object, name: str) -> int:
    """Require a positive Python int hyperparameter."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_probability(value: object, name: str) -> float:
    """Require a dropout-style probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)
