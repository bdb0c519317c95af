"""Client-level DP parameters and the federation's run config."""

import json
import math

import pytest

from lstmkit.errors import ConfigError
from lstmkit.federated import FederatedForecaster, FederationSettings, LocalDP


def test_gaussian_noise_and_composition():
    dp = LocalDP(clip_norm=0.5, epsilon=2.0, delta=1e-5)
    assert dp.sensitivity == 1.0
    assert dp.noise_std == pytest.approx(math.sqrt(2 * math.log(1.25e5)) / 2.0)
    report = dp.report(rounds=10)
    assert report["epsilon_basic"] == pytest.approx(20.0)
    assert report["delta_basic"] == pytest.approx(1e-4)
    advanced = 2 * math.sqrt(20 * math.log(1e5)) + 10 * 2 * math.expm1(2)
    assert report["epsilon_advanced"] == pytest.approx(advanced)
    assert report["epsilon_total"] == pytest.approx(20.0)  # basic wins at this epsilon
    small = LocalDP(epsilon=0.05).report(rounds=400)
    assert small["epsilon_total"] == pytest.approx(small["epsilon_advanced"])
    assert small["epsilon_total"] < 400 * 0.05
    assert small["delta_total"] == pytest.approx(400 * 1e-5 + 1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"clip_norm": 0}, "clip_norm"), ({"epsilon": -1}, "epsilon"),
    ({"delta": 1.5}, "delta must be below 1"), ({"delta": float("nan")}, "delta"),
    ({"epsilon": True}, "epsilon"),
])
def test_bad_dp_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LocalDP(**kwargs)


def settings(**changes):
    base = dict(forecaster={"lookback": 24, "horizon": 6, "seed": 3}, freq="MS", clients=4,
                rounds=5, local_epochs=2, aggregation="fedprox", proximal_mu=0.1,
                dp=LocalDP(1.0, 4.0, 1e-6), data_dir="/data", output="/out")
    return FederationSettings(**{**base, **changes})


def test_run_config_round_trip_is_flat():
    s = settings()
    config = s.to_run_config()
    assert all(isinstance(v, bool | int | float | str) for v in config.values())
    assert json.loads(config["forecaster"]) == {"lookback": 24, "horizon": 6, "seed": 3}
    assert FederationSettings.from_run_config(config) == s
    plain = settings(dp=None, aggregation="fedavg", proximal_mu=0.0, id_col=None, output=None,
                     server_momentum=0.9)
    assert FederationSettings.from_run_config(plain.to_run_config()) == plain
    assert s.seed == 3 and s.model().lookback == 24


@pytest.mark.parametrize("changes, match", [
    ({"aggregation": "fedsgd"}, "aggregation must be one of fedavg, fedprox, scaffold"),
    ({"aggregation": "scaffold"}, "proximal_mu is a FedProx setting"),
    ({"aggregation": "scaffold", "proximal_mu": 0.0}, "'scaffold' does not run under client DP"),
    ({"proximal_mu": 0.0}, "needs proximal_mu > 0"),
    ({"aggregation": "fedavg"}, "proximal_mu is a FedProx setting"),
    ({"rounds": 0}, "rounds must be a positive int"),
    ({"clients": 2.5}, "clients must be a positive int"),
    ({"server_momentum": 1.0}, r"server_momentum must be in \[0, 1\)"),
    ({"server_momentum": 0.9}, "server_momentum \\(FedAvgM\\) goes with aggregation 'fedavg'"),
])
def test_bad_settings(changes, match):
    with pytest.raises(ConfigError, match=match):
        settings(**changes)


def test_run_config_missing_or_malformed_key():
    config = settings().to_run_config()
    del config["rounds"]
    with pytest.raises(ConfigError, match="lacks 'rounds'"):
        FederationSettings.from_run_config(config)
    config = {**settings().to_run_config(), "forecaster": "{not json"}
    with pytest.raises(ConfigError, match="malformed"):
        FederationSettings.from_run_config(config)


def test_clients_deal_series_round_robin():
    model = FederatedForecaster(clients=2)
    assert model.client_groups(("a", "b", "c")) == [("a", "c"), ("b",)]
    assert FederatedForecaster().client_groups(("a", "b")) == [("a",), ("b",)]
    for bad in (0, 4, True):
        with pytest.raises(ConfigError, match="clients must be an int from 1 to"):
            FederatedForecaster(clients=bad).client_groups(("a", "b", "c"))


def test_forecaster_config_splits_federation_from_model():
    model = FederatedForecaster(clients=2, rounds=3, dp={"epsilon": 1.0}, lookback=12,
                                horizon=3)
    config = model.forecaster_config()
    assert config["lookback"] == 12 and "rounds" not in config and "dp" not in config
    s = model.settings("D", clients=2)
    assert (s.rounds, s.clients, s.dp) == (3, 2, LocalDP(epsilon=1.0))
    with pytest.raises(ConfigError, match="dp takes clip_norm, epsilon and delta"):
        FederatedForecaster(dp={"sigma": 1.0}).settings("D", clients=1)


def test_calibrate_on_validation_is_refused():
    with pytest.raises(ConfigError, match="calibrate_intervals=True"):
        FederatedForecaster(likelihood="quantile", calibrate_intervals=True).fit(
            "unused.csv")


@pytest.mark.parametrize("options, match", [
    ({"ensemble": 2}, "federated rounds train one network; got ensemble=2"),
    ({"ema_decay": 0.99}, "ema_decay averages one trainer's steps"),
    ({"window_norm": "standard", "window_loss": True}, "window_loss=True is not available"),
])
def test_settings_refuse_what_rounds_cannot_train_whichever_command_builds_them(
        options, match):
    """`lstmkit federated app` builds settings without fit: the same refusals apply."""
    with pytest.raises(ConfigError, match=match):
        FederatedForecaster(clients=2, **options).settings("h", clients=2)
