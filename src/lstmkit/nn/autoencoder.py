"""`LSTMAutoencoder`: an LSTM encoder-decoder that reconstructs fixed-length windows.

x (batch, time, n_features) -> reconstruction (batch, time, n_features).

The encoder reads the window and its top-layer final hidden state is squeezed through a
linear bottleneck of `latent_size` units. The decoder gets that code at every step (plus the
step's position, so it knows where in the window it is) and a linear head maps its outputs
back to the features. The bottleneck is what makes the model fail on shapes it has not
seen in training, which is the point of reconstruction-based anomaly scores.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmkit.nn._checks import check_float, check_positive_int, check_rank, check_size
from lstmkit.nn.recurrent import CellType, Recurrent


class LSTMAutoencoder(nn.Module):
    """Sequence-to-sequence autoencoder over windows of `window` steps.

    Args:
        n_features: features per step (columns of the series).
        window: steps per window; the decoder learns one position embedding per step.
        hidden_size: units of the encoder and decoder layers.
        latent_size: width of the bottleneck code between encoder and decoder.
        num_layers: stacked recurrent layers in the encoder and in the decoder.
        cell: "lstm", "peephole" or "gru".
        dropout: dropout between stacked layers.
    """

    def __init__(
        self,
        n_features: int,
        window: int,
        hidden_size: int = 32,
        latent_size: int = 8,
        num_layers: int = 1,
        cell: CellType = "lstm",
        dropout: float = 0.0,
        position_size: int = 4,
    ) -> None:
        super().__init__()
        self.n_features = check_positive_int(n_features, "n_features")
        self.window = check_positive_int(window, "window")
        hidden = check_positive_int(hidden_size, "hidden_size")
        latent = check_positive_int(latent_size, "latent_size")
        position = check_positive_int(position_size, "position_size")
        self.encoder = Recurrent(n_features, hidden, num_layers, cell=cell, dropout=dropout)
        self.to_latent = nn.Linear(hidden, latent)
        self.position = nn.Embedding(self.window, position)
        self.decoder = Recurrent(latent + position, hidden, num_layers, cell=cell,
                                 dropout=dropout)
        self.head = nn.Linear(hidden, n_features)

    def encode(self, x: Tensor) -> Tensor:
        """x (batch, window, n_features) -> code (batch, latent_size)."""
        check_rank(check_float(x, "x"), 3, "x", "(batch, window, n_features)")
        check_size(x, 1, self.window, "x", "steps (the window length)")
        check_size(x, 2, self.n_features, "x", "features")
        _, (h_n, _) = self.encoder(x)  # h_n (num_layers, B, H)
        return torch.tanh(self.to_latent(h_n[-1]))

    def decode(self, code: Tensor) -> Tensor:
        """code (batch, latent_size) -> reconstruction (batch, window, n_features)."""
        batch = code.shape[0]
        steps = self.position.weight[None].expand(batch, -1, -1)  # (B, window, P)
        repeated = code[:, None, :].expand(-1, self.window, -1)  # (B, window, latent)
        outputs, _ = self.decoder(torch.cat([repeated, steps], dim=2))
        return self.head(outputs)

    def forward(self, x: Tensor) -> Tensor:
        """x (batch, window, n_features) -> reconstruction of the same shape."""
        return self.decode(self.encode(x))
