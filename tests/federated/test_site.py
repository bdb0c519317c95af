"""A client's local work: its own windows, FedProx's proximal term, the initial network."""

import numpy as np
import pytest
import torch
from torch import nn

from lstmkit.data.loading import load_series
from lstmkit.federated.site import ProximalLoss, Site, initial_network, round_lr
from lstmkit.models.forecaster import LSTMForecaster


def test_proximal_term_gradient_pulls_towards_the_global_weights():
    net = nn.Linear(3, 1)
    mu = 0.3
    loss = ProximalLoss(nn.MSELoss(), net, mu)
    with torch.no_grad():
        net.weight.add_(0.5)
    x, y = torch.randn(5, 3), torch.randn(5, 1)
    loss(net(x), y).backward()
    grad_prox = net.weight.grad.clone()
    net.zero_grad()
    nn.MSELoss()(net(x), y).backward()
    torch.testing.assert_close(grad_prox - net.weight.grad, torch.full((1, 3), mu * 0.5))
    assert loss(net(x), y).item() == pytest.approx(
        nn.MSELoss()(net(x), y).item() + 0.5 * mu * 3 * 0.25, rel=1e-6)


def test_round_lr_follows_a_cosine_over_rounds():
    assert [round_lr(1.0, "cosine", r, 4) for r in (1, 3)] == [1.0, pytest.approx(0.5)]
    assert round_lr(1.0, "constant", 3, 4) == 1.0


def test_site_windows_come_from_its_own_rows_only(params, make_frame):
    model = LSTMForecaster(**params, validation_fraction=0.2)
    one = Site(model, load_series(make_frame(("a",)), id_col="id"))
    both = Site(model, load_series(make_frame(("a", "b")), id_col="id"))
    assert one.series_ids == ("a",)
    assert both.num_train == 2 * one.num_train and both.num_val == 2 * one.num_val


def test_site_training_changes_weights_and_validation_loss_falls(params, make_frame):
    model = LSTMForecaster(**params, validation_fraction=0.2)
    site = Site(model, load_series(make_frame(), id_col="id"))
    start = initial_network(model, "D").state_dict()
    assert {k: v.shape for k, v in start.items()} == {
        k: v.shape for k, v in site.network.state_dict().items()}
    before = site.validation_loss(start)
    weights, loss = site.train(start, epochs=5, lr=0.01, mu=0.0, seed=1)
    assert np.isfinite(loss) and site.validation_loss(weights) < before
    again, _ = site.train(start, epochs=5, lr=0.01, mu=0.0, seed=1)
    assert all(torch.equal(weights[k], again[k]) for k in weights)  # seeded
    near, _ = site.train(start, epochs=5, lr=0.01, mu=100.0, seed=1)
    drift = sum(((weights[k] - start[k]) ** 2).sum() for k in start)
    held = sum(((near[k] - start[k]) ** 2).sum() for k in start)
    assert held < drift  # the proximal term keeps the update close to the global weights
