"""The `federated:` and `series:` keys of a forecast config, and a federated run of
`lstmkit forecast --config` end to end."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lstmkit import io
from lstmkit.cli import app
from lstmkit.errors import ConfigError
from lstmkit.federated import FederatedForecaster
from lstmkit.forecast_job import ForecastConfig


def write(tmp_path: Path, make_frame, **config) -> Path:
    data = tmp_path / "sites.csv"
    make_frame(("a", "b", "c")).to_csv(data, index=False)
    base = dict(data=str(data), target="y", id_col="id", horizon=6, lookback=24,
                hidden_size=8, num_layers=1, calendar=False, seasonal_lags=[12],
                batch_size=32, lr=0.01, validation_fraction=0.2)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({**base, **config}))
    return path


def test_federated_block_builds_a_federated_forecaster(tmp_path, make_frame):
    config = ForecastConfig.from_yaml(write(tmp_path, make_frame, federated={
        "clients": 2, "rounds": 3, "aggregation": "fedprox", "proximal_mu": 0.1,
        "dp": {"clip_norm": 1.0, "epsilon": 8.0, "delta": 1e-6}}))
    model = config.model()
    assert isinstance(model, FederatedForecaster)
    assert (model.clients, model.rounds, model.aggregation, model.lookback) == (2, 3,
                                                                               "fedprox", 24)
    plain = ForecastConfig.from_yaml(write(tmp_path, make_frame)).model()
    assert type(plain).__name__ == "LSTMForecaster"
    with pytest.raises(ConfigError, match=r"unknown federated option\(s\) \['round'\]"):
        ForecastConfig.from_yaml(write(tmp_path, make_frame, federated={"round": 3}))
    with pytest.raises(ConfigError, match="federated must be a mapping"):
        ForecastConfig.from_yaml(write(tmp_path, make_frame, federated="yes"))


def test_federated_config_refuses_torchrun(tmp_path, make_frame):
    config = write(tmp_path, make_frame, federated={"rounds": 1})
    result = CliRunner().invoke(app, ["forecast", "--config", str(config), "--output",
                                      str(tmp_path / "run"), "--nproc", "2"])
    assert result.exit_code == 1
    assert "not under torchrun" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_series_key_keeps_the_named_series(tmp_path, make_frame):
    config = ForecastConfig.from_yaml(write(tmp_path, make_frame, series=["c", "a"]))
    assert config.load_data().ids == ("a", "c")
    with pytest.raises(ConfigError, match=r"series \['z'\] not in the data"):
        ForecastConfig.from_yaml(write(tmp_path, make_frame, series=["a", "z"])).load_data()


@pytest.mark.slow
def test_forecast_command_trains_federated(tmp_path, make_frame):
    config = write(tmp_path, make_frame, folds=1, baselines=["naive"],
                   federated={"rounds": 2, "local_epochs": 1})
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["forecast", "--config", str(config), "--output",
                                      str(out)])
    assert result.exit_code == 0, result.output
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["model"]) == {"lstm", "naive"}
    model = io.load(out / "model")
    assert isinstance(model, FederatedForecaster)
    assert model.federation_["clients"] == [["a"], ["b"], ["c"]]
    assert len(model.history_) == 2
    record = json.loads((out / "federation.json").read_text())
    assert record["chosen_round"] in (1, 2) and len(record["rounds"]) == 2
    forecast = pd.read_csv(out / "forecast.csv")
    assert len(forecast) == 3 * 6 and forecast["y"].notna().all()
