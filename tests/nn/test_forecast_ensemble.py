"""ForecastEnsemble combines its members' outputs into one output of the same meaning."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lstmkit.nn.distribution import gaussian_parameters, monotone_quantiles
from lstmkit.nn.forecast_ensemble import ForecastEnsemble, _inverse_softplus, member_seed


class Fixed(nn.Module):
    """A 'network' that returns a fixed output whatever its inputs."""

    def __init__(self, output: Tensor) -> None:
        super().__init__()
        self.output = nn.Parameter(output)

    def forward(self, x_enc: Tensor, x_step: Tensor) -> Tensor:
        return self.output.expand(len(x_enc), *self.output.shape[1:])


def inputs(batch: int = 3) -> tuple[Tensor, Tensor]:
    return torch.zeros(batch, 5, 1), torch.zeros(batch, 4, 1)


def test_member_seeds_start_from_the_seed_and_differ_reproducibly() -> None:
    seeds = [member_seed(7, i) for i in range(5)]
    assert seeds[0] == 7
    assert len(set(seeds)) == 5
    assert seeds == [member_seed(7, i) for i in range(5)]
    assert member_seed(8, 1) != seeds[1]
    assert all(0 <= s < 2**63 for s in seeds)


def test_point_forecasts_are_the_members_mean() -> None:
    a, b = torch.randn(1, 4), torch.randn(1, 4)
    out = ForecastEnsemble([Fixed(a), Fixed(b)])(*inputs())
    assert out.shape == (3, 4)
    torch.testing.assert_close(out, ((a + b) / 2).expand(3, 4))


def test_averaged_quantiles_stay_monotone() -> None:
    members = [Fixed(monotone_quantiles(torch.randn(1, 4, 3))) for _ in range(4)]
    out = ForecastEnsemble(members, likelihood="quantile")(*inputs())
    assert out.shape == (3, 4, 3)
    assert (out.diff(dim=-1) >= 0).all()
    torch.testing.assert_close(out[0], torch.stack([m.output[0] for m in members]).mean(0))


def test_gaussian_members_give_the_moment_matched_mixture() -> None:
    raws = [torch.tensor([[[0.0, 0.5], [2.0, -1.0]]]), torch.tensor([[[1.0, 1.5], [-2.0, 0.3]]])]
    out = ForecastEnsemble([Fixed(r) for r in raws], likelihood="gaussian")(*inputs(2))
    assert out.shape == (2, 2, 2)
    mean, std = gaussian_parameters(out[0])
    means = torch.stack([gaussian_parameters(r[0])[0] for r in raws])
    stds = torch.stack([gaussian_parameters(r[0])[1] for r in raws])
    torch.testing.assert_close(mean, means.mean(0))
    # mixture variance: mean of the members' second moments minus the squared mean
    want = ((stds**2 + means**2).mean(0) - means.mean(0) ** 2).sqrt()
    torch.testing.assert_close(std, want)
    assert (std >= stds.min(0).values - 1e-6).all()


def test_identical_gaussian_members_give_back_the_member() -> None:
    raw = torch.tensor([[[0.3, -2.0], [1.0, 4.0]]])
    out = ForecastEnsemble([Fixed(raw.clone()), Fixed(raw.clone())], likelihood="gaussian")(
        *inputs(1))
    torch.testing.assert_close(out, raw, rtol=1e-5, atol=1e-5)


def test_the_inverse_softplus_inverts_softplus_down_to_the_floor() -> None:
    x = torch.tensor([1e-4, 5e-4, 2e-3, 0.1, 1.0, 30.0], dtype=torch.float64)
    torch.testing.assert_close(torch.nn.functional.softplus(_inverse_softplus(x)), x,
                               rtol=1e-6, atol=0)


def test_the_mixture_spread_stays_exact_for_large_means() -> None:
    """Far from zero, E[s^2 + m^2] - E[m]^2 cancels in float32; the spread must not."""
    raws = [torch.tensor([[[100.0, -4.6]]]), torch.tensor([[[100.001, -4.6]]])]
    out = ForecastEnsemble([Fixed(r) for r in raws], likelihood="gaussian")(*inputs(1))
    _, std = gaussian_parameters(out[0])
    stds = torch.stack([gaussian_parameters(r[0].double())[1] for r in raws])
    means = torch.tensor([100.0, 100.001], dtype=torch.float64)
    want = (stds.square().mean(0) + (means - means.mean()).square().mean()).sqrt()
    torch.testing.assert_close(std.double(), want, rtol=1e-4, atol=0)
