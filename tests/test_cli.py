"""The CLI runs the Python API end to end and reports errors without tracebacks."""

import json

from typer.testing import CliRunner

from lstmkit.cli import app

runner = CliRunner()


def test_demo_trains_saves_and_beats_baselines(tmp_path):
    result = runner.invoke(app, ["demo", "--output", str(tmp_path), "--samples", "1200",
                                 "--length", "10", "--epochs", "12"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["mse"]["lstm"] < 0.2 * metrics["mse"]["mean of training targets"]
    assert metrics["mse"]["lstm"] < metrics["mse"]["linear regression"]
    assert metrics["reloaded_model_max_abs_difference"] == 0.0
    info = runner.invoke(app, ["info", str(tmp_path / "model")])
    assert info.exit_code == 0 and "sequence-regressor" in info.output


def test_info_on_a_missing_model_is_a_clean_error(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path / "nope")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "does not exist" in result.output


def test_demo_with_unknown_cell_is_a_clean_error(tmp_path):
    result = runner.invoke(app, ["demo", "--output", str(tmp_path), "--cell", "rnn"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cell must be one of" in result.output


def test_demo_into_an_existing_file_is_a_clean_error(tmp_path):
    (tmp_path / "taken").write_text("")
    result = runner.invoke(app, ["demo", "--output", str(tmp_path / "taken"), "--samples", "64",
                                 "--epochs", "1"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "taken" in result.output


def test_every_job_has_its_command() -> None:
    from typer.testing import CliRunner

    from lstmkit.cli import app

    for command in ("forecast", "backtest", "predict", "datasets", "detect", "classify"):
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
