"""`lstmkit detect`: fit an anomaly detector on the normal part of a series and score it.

The detector is fitted on the leading --train-rows / --train-fraction rows (which are scored
too), or on the rows where --split-col equals --train-value (then the other rows are scored).

Writes to --output: scores.csv (time, score, flag[, label]), intervals.csv (start, end,
max_score), report.html and the fitted detector in model/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lstmkit.errors import ConfigError, DataValidationError, LstmkitError

detect_app = typer.Typer(help="Anomaly detection with LSTM models.", no_args_is_help=True)
console = Console()


def _fail(err: LstmkitError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}")
    raise typer.Exit(code=1)


def _threshold(value: str) -> float | str:
    if value in ("quantile", "contamination"):
        return value
    try:
        return float(value)
    except ValueError:
        raise ConfigError(
            f"--threshold must be 'quantile', 'contamination' or a number, got {value!r}"
        ) from None


def _read(data: Path | None, dataset: str | None) -> pd.DataFrame:
    from lstmkit.data.datasets import load
    from lstmkit.data.loading import read_table

    if (data is None) == (dataset is None):
        raise ConfigError("give either DATA (a CSV/Parquet file) or --dataset NAME, not both")
    if dataset is not None:
        return load(dataset)
    return read_table(data)[0]


def _training_rows(frame: pd.DataFrame, train_rows: int | None, train_fraction: float,
                   split_col: str | None, train_value: str) -> np.ndarray:
    """Boolean mask of the normal rows the detector is fitted on."""
    if split_col is not None:
        if split_col not in frame.columns:
            raise DataValidationError(
                f"--split-col {split_col!r} is not a column; columns are {list(frame.columns)}")
        mask = frame[split_col].astype(str).to_numpy() == train_value
        if not mask.any():
            values = sorted(frame[split_col].astype(str).unique())[:10]
            raise DataValidationError(
                f"no row has {split_col} == {train_value!r} (values: {values}); set "
                "--train-value")
        return mask
    n = len(frame)
    count = train_rows if train_rows is not None else int(round(n * train_fraction))
    if not 0 < count <= n:
        raise ConfigError(
            f"the training part has {count} rows of {n}; set --train-rows or --train-fraction "
            "to keep at least one row")
    mask = np.zeros(n, dtype=bool)
    mask[:count] = True
    return mask


@detect_app.command("detect")
def detect(
    data: Path = typer.Argument(None, help="CSV or Parquet file with the series."),
    dataset: str = typer.Option(None, help="A bundled dataset instead of DATA."),
    time_col: str = typer.Option(None, help="Time column (default: the row number)."),
    columns: list[str] = typer.Option(
        None, "--columns", help="Value column(s); repeat for several (default: all numeric)."),
    method: str = typer.Option("forecast", help="forecast or reconstruction."),
    output: Path = typer.Option(..., help="Folder for scores.csv, intervals.csv, report.html."),
    train_rows: int = typer.Option(None, min=1, help="Fit on the first N rows (normal data)."),
    train_fraction: float = typer.Option(
        0.3, min=0.0, max=1.0, help="Fit on this leading share of the rows."),
    split_col: str = typer.Option(
        None, help="Fit on the rows where this column equals --train-value, score the others."),
    train_value: str = typer.Option("train", help="The training value of --split-col."),
    label_col: str = typer.Option(None, help="0/1 column of known anomalies: adds metrics."),
    tolerance: int = typer.Option(0, min=0, help="Event-wise tolerance (rows) for metrics."),
    lookback: int = typer.Option(32, min=1, help="Rows read per forecast / window length."),
    horizon: int = typer.Option(1, min=1, help="Rows forecast per origin (forecast method)."),
    hidden_size: int = typer.Option(32, min=1, help="LSTM hidden units."),
    epochs: int = typer.Option(20, min=1, help="Training epochs."),
    threshold: str = typer.Option("quantile", help="quantile, contamination or a number."),
    quantile: float = typer.Option(0.99, help="Quantile of the training scores."),
    contamination: float = typer.Option(0.01, help="Share of rows flagged (contamination)."),
    min_gap: int = typer.Option(0, min=0, help="Merge intervals at most this many rows apart."),
    seed: int = typer.Option(0, help="One seed for weights and shuffling."),
) -> None:
    """Fit an LSTM anomaly detector on the normal part, then score and flag every row."""
    from lstmkit.evaluation.anomaly_metrics import anomaly_metrics
    from lstmkit.models.anomaly import AnomalyDetector, as_matrix, flagged_runs, runs_frame
    from lstmkit.report.anomaly import write_anomaly_report

    try:
        frame = _read(data, dataset)
        mask = _training_rows(frame, train_rows, train_fraction, split_col, train_value)
        value_cols = list(columns) if columns else None
        if value_cols is None:
            skip = {time_col, split_col, label_col}
            value_cols = [c for c in frame.columns
                          if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]
        if label_col is not None and label_col not in frame.columns:
            raise DataValidationError(
                f"--label-col {label_col!r} is not a column; columns are {list(frame.columns)}")
        detector = AnomalyDetector(
            method=method, lookback=lookback, horizon=horizon, hidden_size=hidden_size,
            max_epochs=epochs, threshold=_threshold(threshold), quantile=quantile,
            contamination=contamination, min_gap=min_gap, seed=seed, progress=False,
        )
        detector.fit(frame[mask], columns=value_cols, time_col=time_col)
        scored = frame[~mask].reset_index(drop=True) if split_col is not None else frame
        matrix = as_matrix(scored, value_cols, time_col)
        scores = np.asarray(detector.score(scored), dtype=float)
        flags = detector.flags(scores)
        used = detector.threshold_for(scores)
        labels = None
        metrics = None
        if label_col is not None:
            labels = scored[label_col].to_numpy()
            metrics = anomaly_metrics(labels, scores, flags, tolerance)
        intervals = runs_frame(flagged_runs(flags, min_gap), scores, matrix.times)

        output.mkdir(parents=True, exist_ok=True)
        table = pd.DataFrame({"time": np.asarray(matrix.times), "score": scores, "flag": flags})
        if labels is not None:
            table["label"] = labels
        table.to_csv(output / "scores.csv", index=False)
        intervals.to_csv(output / "intervals.csv", index=False)
        detector.save(output / "model")
        values = pd.DataFrame(matrix.values, columns=list(matrix.columns),
                              index=matrix.times)
        source = str(data) if data is not None else f"dataset {dataset}"
        write_anomaly_report(
            output / "report.html",
            title=f"Anomaly detection: {Path(source).name if data is not None else source}",
            values=values, scores=scores, flags=flags, threshold=used, labels=labels,
            metrics=metrics, min_gap=min_gap,
            data_summary={
                "source": source, "rows scored": len(scored), "columns": value_cols,
                "training rows": int(mask.sum()), "method": method,
                "threshold": f"{used:.4g} ({detector.threshold_source_})",
            },
            config=detector.get_config(),
        )
    except LstmkitError as err:
        _fail(err)

    summary = Table(title=f"{method} detector: {int(flags.sum())} flagged rows, "
                          f"{len(intervals)} interval(s), threshold {used:.4g}")
    summary.add_column("start")
    summary.add_column("end")
    summary.add_column("max score", justify="right")
    for row in intervals.sort_values("max_score", ascending=False).head(10).itertuples():
        summary.add_row(str(row.start), str(row.end), f"{row.max_score:.3g}")
    console.print(summary)
    if metrics is not None:
        shown = {k: round(float(v), 4) for k, v in metrics.items()}
        console.print(f"metrics (tolerance {tolerance}): {json.dumps(shown)}", markup=False)
    console.print(f"wrote {output}/scores.csv, intervals.csv, report.html and model/",
                  markup=False)
