"""`import lstmkit` stays light: the slow optional libraries load where they are used."""

from __future__ import annotations

import json
import subprocess
import sys

SLOW = ("sklearn", "scipy", "statsforecast", "matplotlib")


def test_import_lstmkit_leaves_slow_libraries_unloaded() -> None:
    code = ("import json, sys, lstmkit; "
            f"print(json.dumps([m for m in {SLOW!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == []


def test_lazily_imported_models_still_fit_and_forecast() -> None:
    import numpy as np

    from lstmkit.evaluation.baselines import ETS, LinearAR

    y = 10 + np.sin(np.arange(132) * 2 * np.pi / 12)
    truth = 10 + np.sin(np.arange(132, 144) * 2 * np.pi / 12)
    for model in (ETS(season=12), LinearAR(lags=[12])):
        forecast = model.fit(y).predict(y, 12)
        assert np.abs(forecast - truth).max() < 0.05, model
