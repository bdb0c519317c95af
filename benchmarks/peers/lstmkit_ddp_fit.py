"""One process of a data-parallel lstmkit fit for the peer benchmark (run by torchrun).

    python -m torch.distributed.run --standalone --nproc-per-node N lstmkit_ddp_fit.py DIR

DIR holds `spec.json` (the benchmark's NetConfig, lstmkit's options) and `train.npz` (the
fold's standardised training values and their timestamps). Every process fits the same
forecaster on the same data; lstmkit's Trainer sees torchrun's environment and trains with
DistributedDataParallel. Rank 0 saves the fitted model to DIR/model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from adapters.lstmkit_lstm import build, series_frame  # noqa: E402
from common import NetConfig  # noqa: E402


def main(work: Path) -> None:
    spec = json.loads((work / "spec.json").read_text())
    net = NetConfig(**spec["net"])
    torch.set_num_threads(net.threads // net.processes)
    data = np.load(work / "train.npz")
    model = build(net, spec["features"], spec["options"])
    model.fit(series_frame(data["y"], pd.DatetimeIndex(data["ds"])), target="y", time_col="ds")
    if os.environ.get("RANK", "0") == "0":
        model.save(work / "model")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
