"""Client-side differential privacy for federated rounds: the parameters and what they add up to.

Each client clips its model update to L2 norm `clip_norm` and adds Gaussian noise before
sending it (Flower's `LocalDpMod`). The whole update of a client is what is protected, so two
neighbouring inputs (any two local datasets) give clipped updates at most 2 * clip_norm apart:
that is the sensitivity. One round is then (epsilon, delta)-DP for the client by the Gaussian
mechanism, sigma = sensitivity * sqrt(2 ln(1.25 / delta)) / epsilon; R rounds compose.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from lstmkit.errors import ConfigError


@dataclass(frozen=True)
class LocalDP:
    """Per-round client-level (epsilon, delta)-DP by update clipping and Gaussian noise."""

    clip_norm: float = 1.0
    epsilon: float = 1.0
    delta: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("clip_norm", "epsilon", "delta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"dp {name} must be a positive number, got {value!r}")
        if self.delta >= 1:
            raise ConfigError(f"dp delta must be below 1, got {self.delta!r}")

    @property
    def sensitivity(self) -> float:
        """L2 distance between two clipped updates at most."""
        return 2.0 * self.clip_norm

    @property
    def noise_std(self) -> float:
        """Standard deviation of the Gaussian noise added to every parameter."""
        return self.sensitivity * math.sqrt(2.0 * math.log(1.25 / self.delta)) / self.epsilon

    def report(self, rounds: int, slack: float = 1e-5) -> dict[str, Any]:
        """The privacy spent by one client taking part in `rounds` rounds.

        Basic composition gives (R epsilon, R delta); advanced composition (Dwork, Rothblum &
        Vadhan 2010) gives (epsilon sqrt(2 R ln(1/slack)) + R epsilon (e^epsilon - 1),
        R delta + slack); the smaller epsilon is the one to quote.
        """
        basic = rounds * self.epsilon
        advanced = (self.epsilon * math.sqrt(2 * rounds * math.log(1 / slack))
                    + rounds * self.epsilon * math.expm1(min(self.epsilon, 700.0)))
        return {
            **asdict(self),
            "mechanism": "Gaussian, client-level (whole update), clipped update + noise",
            "sensitivity": self.sensitivity,
            "noise_std": self.noise_std,
            "rounds": rounds,
            "epsilon_basic": basic,
            "delta_basic": rounds * self.delta,
            "epsilon_advanced": advanced,
            "delta_advanced": rounds * self.delta + slack,
            "epsilon_total": min(basic, advanced),
            "delta_total": rounds * self.delta if basic <= advanced
            else rounds * self.delta + slack,
        }
