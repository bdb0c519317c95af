import numpy as np
import pytest
from scipy.stats import norm

from lstmkit.errors import DataValidationError
from lstmkit.evaluation.probabilistic import (
    crps_gaussian,
    crps_quantiles,
    interval_coverage,
    interval_width,
    pinball_loss,
)


def test_pinball_loss_by_hand():
    y = np.array([10.0, 0.0])
    q = np.array([[8.0, 12.0], [1.0, 3.0]])  # levels 0.1, 0.9
    # y=10: 0.1*2=0.2 ; 0.1*2=0.2 (over by 2 at 0.9: (0.9-1)*-2)
    # y=0: (0.1-1)*-1=0.9 ; (0.9-1)*-3=0.3
    assert pinball_loss(y, q, [0.1, 0.9]) == pytest.approx((0.2 + 0.2 + 0.9 + 0.3) / 4)


def test_crps_gaussian_matches_numerical_integral():
    mu, sigma, y = 1.0, 2.0, 2.5
    grid = np.linspace(-30, 30, 200_001)
    integrand = (norm.cdf(grid, mu, sigma) - (grid >= y)) ** 2
    numeric = np.trapezoid(integrand, grid)
    assert crps_gaussian(np.array([y]), np.array([mu]), np.array([sigma])) == pytest.approx(
        numeric, rel=1e-4)


def test_crps_quantiles_converges_to_exact_gaussian_crps():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    mu, sigma = np.full(500, 0.3), np.full(500, 1.2)
    levels = np.arange(1, 200) / 200
    q = mu[:, None] + sigma[:, None] * norm.ppf(levels)
    exact = crps_gaussian(y, mu, sigma)
    assert crps_quantiles(y, q, levels) == pytest.approx(exact, rel=0.01)
    # three levels are a coarse approximation, smaller than the exact score
    coarse = crps_quantiles(y, q[:, [19, 99, 179]], levels[[19, 99, 179]])
    assert 0.5 * exact < coarse < exact


def test_coverage_and_width():
    y = np.array([1.0, 5.0, 3.0, 10.0])
    assert interval_coverage(y, np.zeros(4), np.full(4, 4.0)) == 0.5
    assert interval_width(np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0])) == 2.5


@pytest.mark.parametrize("levels", [[0.9, 0.1], [0.0, 0.5], [0.5, 1.2]])
def test_bad_levels_are_named(levels):
    with pytest.raises(DataValidationError, match="increasing and inside"):
        pinball_loss(np.zeros(3), np.zeros((3, 2)), levels)


def test_shape_mismatch_and_bad_std():
    with pytest.raises(DataValidationError, match="expected the actuals' shape"):
        pinball_loss(np.zeros(3), np.zeros((3, 3)), [0.1, 0.9])
    with pytest.raises(DataValidationError, match="std > 0"):
        crps_gaussian(np.zeros(2), np.zeros(2), np.array([1.0, 0.0]))
