"""A federation as real Flower processes on loopback: a SuperLink, two SuperNodes each
reading only its own CSV, `flwr run` of the app `lstmkit federated app` wrote; then a
client turns the result into a model of its own series with `lstmkit federated localise`."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lstmkit import io
from lstmkit.cli import app

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on {port}")


def test_superlink_supernodes_and_flwr_run(tmp_path, make_frame, params):
    if not (BIN / "flower-superlink").exists():
        pytest.fail(f"Flower's executables are missing from {BIN}: pip install "
                    "'lstmkit[federated]'")
    data = make_frame(("a", "b"))
    sites = []
    for uid in ("a", "b"):
        path = tmp_path / f"site_{uid}.csv"
        data[data["id"] == uid].to_csv(path, index=False)
        sites.append(path)
    config = tmp_path / "federated.yaml"
    config.write_text(yaml.safe_dump({**params, "data": "unused", "id_col": "id",
                                      "validation_fraction": 0.2,
                                      "federated": {"rounds": 1, "local_epochs": 2}}))
    runner = CliRunner()
    made = runner.invoke(app, ["federated", "app", "--config", str(config), "--clients", "2",
                               "--output", str(tmp_path / "app"), "--result",
                               str(tmp_path / "result"), "--freq", "D"])
    assert made.exit_code == 0, made.output

    link = free_port()
    home = tmp_path / "flwr"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "loopback"\n\n[superlink.loopback]\n'
        f'address = "127.0.0.1:{link}"\ninsecure = true\n')
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "FLWR_HOME": str(home), "OMP_NUM_THREADS": "1"}
    processes = [start([str(BIN / "flower-superlink"), "--insecure", "--database",
                        ":flwr-in-memory:", "--port", str(link)], tmp_path / "link.log", env)]
    try:
        wait_for_port(link)
        for k, site in enumerate(sites):
            processes.append(start(
                [str(BIN / "flower-supernode"), "--insecure", "--superlink",
                 f"127.0.0.1:{link}", "--port", str(free_port()),
                 "--node-config", f"data-path='{site}'"], tmp_path / f"node{k}.log", env))
        run = subprocess.run([str(BIN / "flwr"), "run", str(tmp_path / "app"), "loopback",
                              "--stream"], env=env, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "Received 2 results and 0 failures" in run.stdout + run.stderr
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)

    result = tmp_path / "result"
    assert {"global.safetensors", "federation.json", "run_config.json"} <= {
        p.name for p in result.iterdir()}
    local = runner.invoke(app, ["federated", "localise", str(result), str(sites[1]),
                                "--output", str(tmp_path / "model_b")])
    assert local.exit_code == 0, local.output
    model = io.load(tmp_path / "model_b")
    assert model.federation_["chosen_round"] == 1
    forecast = model.predict()
    assert set(forecast["id"]) == {"b"} and len(forecast) == 6
    assert forecast["y"].between(data["y"].min() - 5, data["y"].max() + 5).all()
    broken = runner.invoke(app, ["federated", "localise", str(tmp_path), str(sites[0]),
                                 "--output", str(tmp_path / "nope")])
    assert broken.exit_code == 1
    assert "does not hold a federation's result" in " ".join(broken.output.split())
    assert isinstance(pd.read_json(result / "federation.json", typ="series"), pd.Series)
