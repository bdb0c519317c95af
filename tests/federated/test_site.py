"""A client's local work: its own windows, FedProx's proximal term, SCAFFOLD's correction,
the initial network."""

import numpy as np
import pytest
import torch
from torch import nn

from lstmkit.data.loading import load_series
from lstmkit.federated.site import (
    ControlVariateLoss,
    ProximalLoss,
    Site,
    initial_network,
    round_lr,
)
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


def test_control_variate_term_adds_the_correction_to_every_gradient():
    net = nn.Linear(3, 1)
    correction = {"weight": torch.tensor([[0.1, -0.2, 0.3]]), "bias": torch.tensor([-0.5])}
    loss = ControlVariateLoss(nn.MSELoss(), net, correction)
    x, y = torch.randn(5, 3), torch.randn(5, 1)
    assert loss(net(x), y).item() == pytest.approx(nn.MSELoss()(net(x), y).item())  # at w_g
    with torch.no_grad():
        net.weight.add_(0.5)
    loss(net(x), y).backward()
    corrected = {n: p.grad.clone() for n, p in net.named_parameters()}
    net.zero_grad()
    nn.MSELoss()(net(x), y).backward()
    for name, p in net.named_parameters():
        torch.testing.assert_close(corrected[name] - p.grad, correction[name])
    assert loss(net(x), y).item() == pytest.approx(
        nn.MSELoss()(net(x), y).item() + 0.5 * 0.2, rel=1e-6)  # <0.5, correction of weight>


def test_site_gradient_is_the_full_batch_gradient(params, make_frame):
    model = LSTMForecaster(**params, validation_fraction=0.2)
    site = Site(model, load_series(make_frame(("a", "b")), id_col="id"))
    state = initial_network(model, "D").state_dict()
    grads = site.gradient(state)
    net = site.network
    net.load_state_dict(state)
    net.zero_grad()
    *inputs, target = site.train_set.__getitems__(range(site.num_train))  # one batch of all
    model._loss()(net(*inputs), target).backward()
    assert site.num_train > model.batch_size  # so the gradient above came in several batches
    assert set(grads) == {n for n, _ in net.named_parameters()}
    dropped = Site(LSTMForecaster(**params, validation_fraction=0.2, dropout=0.5),
                   load_series(make_frame(("a", "b")), id_col="id"))
    rng = torch.get_rng_state()
    first, again = dropped.gradient(state, seed=5), dropped.gradient(state, seed=5)
    assert torch.equal(torch.get_rng_state(), rng)  # the global random state is untouched
    assert all(torch.equal(first[n], again[n]) for n in first)  # dropout draws from the seed
    other = dropped.gradient(state, seed=6)
    assert any(not torch.equal(first[n], other[n]) for n in first)
    for name, p in net.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, atol=1e-6, rtol=1e-4)


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
