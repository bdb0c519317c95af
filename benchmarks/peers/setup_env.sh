#!/usr/bin/env bash
# Create (or reuse) benchmarks/peers/.venv with the peer libraries, separate from lstmkit's
# own .venv: NeuralForecast, Darts and statsforecast are never lstmkit dependencies.
# torch is pinned first to the project's CPU build (any other torch spec can pull a
# multi-GB CUDA build), then the peers, then lstmkit itself (editable, `datasets` extra).
# Idempotent: each step leaves a stamp file and is skipped when the stamp exists.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PEERS="${PEERS:-neuralforecast darts statsforecast statsmodels}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
PIP=("$VENV/bin/python" -m pip install --quiet)

if [ ! -f "$VENV/.torch" ]; then
    "${PIP[@]}" "$TORCH_SPEC"
    touch "$VENV/.torch"
fi
if [ ! -f "$VENV/.peers" ]; then
    # The constraint keeps the peers from replacing the pinned torch.
    echo "$TORCH_SPEC" > "$VENV/constraints.txt"
    "${PIP[@]}" -c "$VENV/constraints.txt" $PEERS
    touch "$VENV/.peers"
fi
if [ ! -f "$VENV/.lstmkit" ] || [ "$ROOT/pyproject.toml" -nt "$VENV/.lstmkit" ]; then
    "${PIP[@]}" -c "$VENV/constraints.txt" -e "$ROOT[datasets]"
    touch "$VENV/.lstmkit"
fi
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("torch", "neuralforecast", "darts", "statsforecast", "statsmodels", "lstmkit"):
    print(f"{name:15s} {md.version(name)}")
PY
