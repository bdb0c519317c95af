"""Federated training in Flower's simulation runtime, checked against the same arithmetic
done by hand: every client trains on its own rows, the server averages by window count."""

import math

import numpy as np
import pytest
import torch

from lstmkit import io
from lstmkit.data.loading import load_series
from lstmkit.federated import FederatedForecaster
from lstmkit.federated.site import Site, initial_network, round_lr
from lstmkit.models.forecaster import LSTMForecaster

pytestmark = pytest.mark.slow


def average(states, weights):
    total = sum(weights)
    return {k: sum(s[k] * (w / total) for s, w in zip(states, weights, strict=True))
            for k in states[0]}


def test_fedavg_equals_hand_computed_rounds(tmp_path, params, make_frame):
    data = make_frame(("a", "b", "c"))
    fed = FederatedForecaster(clients=2, rounds=2, validation_fraction=0.2, cpus=2, **params)
    fed.fit(data, id_col="id")
    assert fed.federation_["clients"] == [["a", "c"], ["b"]]

    model = LSTMForecaster(**fed.forecaster_config())
    sites = [Site(model, load_series(data[data["id"].isin(ids)], id_col="id"))
             for ids in (("a", "c"), ("b",))]
    state = initial_network(model, "D").state_dict()
    val_losses, states = [], {}
    for r in (1, 2):
        updates = [site.train(state, epochs=1, lr=round_lr(model.lr, "cosine", r, 2), mu=0.0,
                              seed=model.seed + 7919 * r)[0] for site in sites]
        state = average(updates, [s.num_train for s in sites])
        states[r] = state
        val_losses.append(sum(s.validation_loss(state) * s.num_val for s in sites)
                          / sum(s.num_val for s in sites))
    assert fed.history_.val_losses == pytest.approx(val_losses, rel=1e-4)
    chosen = 1 + min(range(2), key=val_losses.__getitem__)
    assert fed.history_.best_epoch == fed.federation_["chosen_round"] == chosen
    for key, value in fed.network_.state_dict().items():
        torch.testing.assert_close(value, states[chosen][key], atol=1e-5, rtol=1e-5)

    forecast = fed.predict()
    assert forecast.shape[0] == 3 * 6 and forecast["y"].notna().all()
    fed.save(tmp_path / "model")
    loaded = io.load(tmp_path / "model")
    assert type(loaded) is FederatedForecaster and loaded.rounds == 2
    assert loaded.predict().equals(forecast)


def test_scaffold_equals_hand_computed_rounds(params, make_frame):
    data = make_frame(("a", "b", "c"))
    b = data["id"] == "b"  # unlike a and c after scaling, so the clients' gradients differ
    t = np.arange(int(b.sum()))
    data.loc[b, "y"] = 3 * np.cos(2 * np.pi * t / 7) - 0.02 * t
    fed = FederatedForecaster(clients=2, rounds=3, aggregation="scaffold",
                              validation_fraction=0.2, cpus=2, **params).fit(data, id_col="id")

    model = LSTMForecaster(**fed.forecaster_config())
    sites = [Site(model, load_series(data[data["id"].isin(ids)], id_col="id"))
             for ids in (("a", "c"), ("b",))]
    sizes = [s.num_train for s in sites]
    state = initial_network(model, "D").state_dict()
    names = [n for n, _ in sites[0].network.named_parameters()]
    server = {n: torch.zeros_like(state[n]) for n in names}
    own = [dict(server) for _ in sites]
    val_losses, corrections, states = [], [], {}
    for r in (1, 2, 3):
        updates, fresh = [], []
        for k, site in enumerate(sites):
            fresh.append(site.gradient(state, seed=model.seed + 7919 * r))
            correction = {n: server[n] - own[k][n] for n in names}
            corrections.append(correction)
            updates.append(site.train(state, epochs=1, lr=round_lr(model.lr, "cosine", r, 3),
                                      mu=0.0, seed=model.seed + 7919 * r,
                                      correction=correction)[0])
        state = average(updates, sizes)
        delta = average([{n: f[n] - o[n] for n in names}
                         for f, o in zip(fresh, own, strict=True)], sizes)
        server = {n: server[n] + delta[n] for n in names}
        own, states[r] = fresh, state
        val_losses.append(sum(s.validation_loss(state) * s.num_val for s in sites)
                          / sum(s.num_val for s in sites))
    # round 1 is plain FedAvg; afterwards each client is corrected, the corrections cancel
    assert all(float(c[n].abs().max()) == 0 for c in corrections[:2] for n in names)
    assert max(float(corrections[2][n].abs().max()) for n in names) > 1e-4
    for n in names:
        balance = average([{n: corrections[2][n]}, {n: corrections[3][n]}], sizes)[n]
        torch.testing.assert_close(balance, torch.zeros_like(balance), atol=1e-6, rtol=0)
    assert fed.history_.val_losses == pytest.approx(val_losses, rel=1e-4)
    chosen = fed.federation_["chosen_round"]
    assert chosen == 1 + min(range(3), key=val_losses.__getitem__)
    for key, value in fed.network_.state_dict().items():
        torch.testing.assert_close(value, states[chosen][key], atol=1e-5, rtol=1e-5)


def test_client_dp_clips_every_update_and_reports_the_budget(params, make_frame):
    clip = 0.05
    fed = FederatedForecaster(rounds=1, local_epochs=3,
                              dp={"clip_norm": clip, "epsilon": 1e5, "delta": 1e-5},
                              validation_fraction=0.2, cpus=2, **params,
                              ).fit(make_frame(("a", "b")), id_col="id")
    start = initial_network(LSTMForecaster(**fed.forecaster_config()), "D").state_dict()
    step = math.sqrt(sum(((fed.network_.state_dict()[k] - v) ** 2).sum().item()
                         for k, v in start.items()))
    assert 0.5 * clip < step <= clip + 2e-3  # the average of clipped updates, tiny noise
    privacy = fed.federation_["privacy"]
    assert privacy["rounds"] == 1 and privacy["epsilon_total"] == pytest.approx(1e5)
    assert privacy["sensitivity"] == pytest.approx(2 * clip)
    assert fed.history_.val_losses == [None]  # no validation metrics leave a DP client
