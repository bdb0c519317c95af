"""Federated training in Flower's simulation runtime, checked against the same arithmetic
done by hand: every client trains on its own rows, the server averages by window count."""

import math

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
