"""`ForecastNet`: a recurrent encoder over the lookback and a decoder per forecast step.

x_enc (B, lookback, encoder_size) are the observed steps; x_step (B, horizon, step_size)
describe each step to predict (seasonal lags of the target, known-future covariates,
calendar). Output (B, horizon).

- "direct": one MLP shared by all steps reads, for each step, the step features and the
  encoder states `decoder_states` names, plus a linear skip from the step features (so
  seasonal-naive-like forecasts are one weight away). "last": the encoder's last hidden
  state (plus an attention context over all encoder states when `attention` is set) and a
  learned embedding of the step number. "aligned": for step k of H, the encoder's (last
  layer's) state k steps after the one H steps before the end, as NeuralForecast's LSTM
  decodes: for a horizon of one season, the state that has just read the value one season
  before the step (needs lookback >= horizon). "both": all of these.
- likelihood "quantile" / "gaussian" (direct only): the MLP emits Q quantiles (made
  monotone) or a mean and a scale per step; the skip shifts the location.
- `window_norm`: per-window normalisation of the target-valued inputs (the target, and its
  `target_lags` seasonal-lag columns, which come first in x_enc after the target and first in
  x_step) by statistics of the target over each lookback window, inverted on the forecast:
  "center" subtracts the window's mean and adds it back; "standard" also divides by the
  window's standard deviation and multiplies the forecast by it (RevIN without the affine
  weights). The network then models the shape around the window's level and amplitude.
  `in_window_units` gives the forecast before that inversion, with the window's level and
  scale, for a loss measured in each window's own units (`WindowUnitsLoss`).
- "seq2seq": `Seq2Seq` decodes step by step, fed its previous decoder output (the first
  step gets the last observed target) and the step features, with optional attention; the
  same linear skip of the step features is added to every step's output.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from lstmkit.errors import ConfigError, ShapeError
from lstmkit.nn._checks import check_positive_int, check_probability
from lstmkit.nn.attention import AdditiveAttention, DotProductAttention
from lstmkit.nn.distribution import head_width, monotone_quantiles
from lstmkit.nn.recurrent import Recurrent
from lstmkit.nn.seq2seq import Seq2Seq

STRATEGIES = ("direct", "seq2seq")
WINDOW_NORMS = (None, "center", "standard")
_VARIANCE_FLOOR = 1e-5  # in the globally scaled units: a flat window is not blown up
ATTENTIONS = (None, "additive", "dot")
DECODER_STATES = ("last", "aligned", "both")


def check_window_norm(window_norm: str | None, likelihood: str | None) -> None:
    """Refuse an unknown `window_norm`, and "standard" with the Gaussian head."""
    if window_norm not in WINDOW_NORMS:
        raise ConfigError(f"window_norm must be one of {WINDOW_NORMS}, got {window_norm!r}")
    if window_norm == "standard" and likelihood == "gaussian":
        raise ConfigError("window_norm='standard' rescales quantile and point forecasts; "
                          "with likelihood='gaussian' use window_norm='center'")


def check_decoder_states(decoder_states: str) -> None:
    """Refuse an unknown `decoder_states`."""
    if decoder_states not in DECODER_STATES:
        raise ConfigError(f"decoder_states must be one of {DECODER_STATES}, "
                          f"got {decoder_states!r}")


class ForecastNet(nn.Module):
    """Encoder-decoder forecaster over precomputed encoder and step features."""

    def __init__(
        self,
        encoder_size: int,
        step_size: int,
        horizon: int,
        hidden_size: int = 64,
        num_layers: int = 2,
        cell: str = "lstm",
        dropout: float = 0.0,
        strategy: Literal["direct", "seq2seq"] = "direct",
        attention: Literal["additive", "dot"] | None = None,
        mlp_size: int = 128,
        step_embedding: int = 8,
        likelihood: Literal["quantile", "gaussian"] | None = None,
        quantiles: tuple[float, ...] = (),
        window_norm: Literal["center", "standard"] | None = None,
        target_lags: int = 0,
        decoder_states: Literal["last", "aligned", "both"] = "last",
    ) -> None:
        super().__init__()
        check_decoder_states(decoder_states)
        if decoder_states != "last" and strategy != "direct":
            raise ConfigError(f"decoder_states={decoder_states!r} is a direct-strategy decoder "
                              f"input; strategy={strategy!r} decodes step by step")
        self.decoder_states = decoder_states
        if not 0 <= target_lags <= min(encoder_size - 1, step_size):
            raise ConfigError(f"target_lags must be in [0, {min(encoder_size - 1, step_size)}] "
                              f"(lag columns of the inputs), got {target_lags}")
        check_window_norm(window_norm, likelihood)
        self.window_norm = window_norm
        self.target_lags = target_lags
        if strategy not in STRATEGIES:
            raise ConfigError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if attention not in ATTENTIONS:
            raise ConfigError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        self.horizon = check_positive_int(horizon, "horizon")
        self.strategy = strategy
        check_probability(dropout, "dropout")
        H = check_positive_int(hidden_size, "hidden_size")
        self.likelihood = likelihood
        self.width = head_width(likelihood, quantiles)
        if likelihood is not None and strategy != "direct":
            raise ConfigError("probabilistic heads (likelihood=...) need strategy='direct'")
        self.skip = nn.Linear(step_size, 1) if step_size > 0 else None
        if strategy == "seq2seq":
            self.seq2seq = Seq2Seq(
                encoder_size, 1, H, num_layers, cell=cell, attention=attention,
                dropout=dropout, decoder_input_size=step_size or None, target_index=0,
            )
            return
        self.encoder = Recurrent(encoder_size, H, num_layers, cell=cell, dropout=dropout)
        if attention == "additive":
            self.attention: nn.Module | None = AdditiveAttention(H, H)
        elif attention == "dot":
            self.attention = DotProductAttention(H, H, scaled=True)
        else:
            self.attention = None
        reads_last = decoder_states != "aligned"
        width = step_size + (H if self.attention is not None else 0)
        width += H + step_embedding if reads_last else 0
        width += H if decoder_states != "last" else 0
        self.step_embedding = nn.Embedding(self.horizon, step_embedding) if reads_last else None
        self.mlp = nn.Sequential(
            nn.Linear(width, mlp_size),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_size, self.width),
        )

    def forward(self, x_enc: Tensor, x_step: Tensor) -> Tensor:
        """(B, lookback, encoder_size), (B, horizon, step_size) -> (B, horizon) point
        forecasts, or (B, horizon, Q) monotone quantiles, or (B, horizon, 2) Gaussian raw
        (mean, pre-softplus scale)."""
        out, level, scale = self.in_window_units(x_enc, x_step)
        if level is not None:  # back to the window's level (and amplitude)
            out = out * scale + level if self.likelihood != "gaussian" else torch.cat(
                [out[..., :1] + level, out[..., 1:]], dim=-1)
        return out.squeeze(-1) if self.likelihood is None else out

    def in_window_units(self, x_enc: Tensor, x_step: Tensor
                        ) -> tuple[Tensor, Tensor | None, Tensor | float]:
        """The forecast (B, horizon, width) before the window normalisation is inverted,
        with each window's level (B, 1, 1) and scale (B, 1, 1, or 1.0); level None without
        `window_norm` (then the forecast is already in the input's units)."""
        level, scale = self._window_statistics(x_enc)
        if level is not None:
            x_enc = self._normalised(x_enc, level, scale, 1 + self.target_lags)
            x_step = self._normalised(x_step, level, scale, self.target_lags)
        if self.strategy == "seq2seq":
            future = x_step if x_step.shape[-1] > 0 else None
            out = self.seq2seq(x_enc, self.horizon, future_inputs=future)
        else:
            out = self._direct(x_enc, x_step)  # (B, H, width)
        shift = self.skip(x_step) if self.skip is not None else 0.0  # (B, H, 1)
        if self.likelihood is not None:  # shift the location only: the mean, or the lowest
            # quantile, from which the others are cumulative positive increments
            out = torch.cat([out[..., :1] + shift, out[..., 1:]], dim=-1)
            if self.likelihood == "quantile":
                out = monotone_quantiles(out)
        else:
            out = out + shift
        return out, level, scale

    def _window_statistics(self, x_enc: Tensor) -> tuple[Tensor | None, Tensor | float]:
        """Mean (B, 1, 1) and scale (B, 1, 1, or 1.0) of the target over each window."""
        if self.window_norm is None:
            return None, 1.0
        target = x_enc[:, :, :1]
        level = target.mean(dim=1, keepdim=True)
        if self.window_norm == "center":
            return level, 1.0
        variance = target.var(dim=1, keepdim=True, unbiased=False)
        return level, torch.sqrt(variance + _VARIANCE_FLOOR)

    @staticmethod
    def _normalised(x: Tensor, level: Tensor, scale: Tensor | float, stop: int) -> Tensor:
        """`x` with its first `stop` (target-valued) columns normalised."""
        return torch.cat([(x[..., :stop] - level) / scale, x[..., stop:]], dim=-1)

    def _direct(self, x_enc: Tensor, x_step: Tensor) -> Tensor:
        states, (h_n, _) = self.encoder(x_enc)
        batch = x_enc.shape[0]
        summary = h_n[-1]  # (B, H): last layer's final state
        shared = [] if self.decoder_states == "aligned" else [summary]
        if self.attention is not None:
            shared.append(self.attention(summary, states)[0])
        parts = []
        if shared:  # the same for every step
            parts.append(torch.cat(shared, dim=-1)[:, None, :].expand(batch, self.horizon, -1))
        parts.append(x_step)
        if self.step_embedding is not None:
            parts.append(self.step_embedding.weight[None].expand(batch, -1, -1))
        if self.decoder_states != "last":
            if states.shape[1] < self.horizon:
                raise ShapeError(f"decoder_states={self.decoder_states!r} needs a lookback of "
                                 f"at least the horizon ({self.horizon}), got "
                                 f"{states.shape[1]} steps")
            parts.append(states[:, -self.horizon:])
        return self.mlp(torch.cat(parts, dim=-1))


class WindowUnitsLoss(nn.Module):
    """`loss` measured in each window's own units: for a network trained through
    `WindowUnits`, the forecast and the target both minus the window's level, over its
    scale. Every window then weighs the same, whatever its swings (NeuralForecast's loss)."""

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, prediction: tuple[Tensor, Tensor, Tensor], target: Tensor) -> Tensor:
        units, level, scale = prediction
        return self.loss(units, (target - level[..., 0]) / scale[..., 0])


class WindowUnits(nn.Module):
    """Training view of a ForecastNet with window_norm="standard" for `WindowUnitsLoss`:
    returns `in_window_units` (its parameters are the network's)."""

    def __init__(self, net: ForecastNet) -> None:
        super().__init__()
        if net.window_norm != "standard":
            raise ConfigError("a loss in window units needs window_norm='standard', got "
                              f"{net.window_norm!r}")
        self.net = net

    def forward(self, x_enc: Tensor, x_step: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(forecast in window units, shaped as the network's output; level; scale)."""
        units, level, scale = self.net.in_window_units(x_enc, x_step)
        if self.net.likelihood is None:
            units = units.squeeze(-1)
        return units, level, scale  # type: ignore[return-value]
