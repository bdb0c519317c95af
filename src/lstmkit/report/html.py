"""The backtest report: one self-contained HTML file (inline CSS and SVG, no external URL)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from lstmkit.errors import DataValidationError
from lstmkit.report.charts import forecast_chart, history_chart, metric_bar_chart

METRICS_COLUMNS = ("model", "fold", "metric", "value")
FORECASTS_COLUMNS = ("ds", "fold", "model", "actual", "forecast")
HISTORY_COLUMNS = ("epoch", "train_loss")
MAX_SERIES = 8
BASELINES_SHOWN = 2
# Metrics where a larger value is better; every other metric is an error (smaller is better).
HIGHER_IS_BETTER = frozenset({"r2", "r²", "directional_accuracy"})

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:2rem 0 .6rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;background:#fff;font-size:.9rem;margin:.4rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
th{background:#f0f0f0}td.text,th.text{text-align:left}
tr.best td{background:#e6f4ea;font-weight:600}
figure.chart{background:#fff;border:1px solid #ddd;margin:1rem 0;padding:.6rem}
figure.chart svg{max-width:100%;height:auto;display:block}
figcaption{font-size:.9rem;color:#444;margin-bottom:.4rem}
pre{background:#fff;border:1px solid #ddd;padding:.8rem;overflow:auto;font-size:.85rem}
details{margin:.6rem 0}summary{cursor:pointer;font-weight:600}
.muted{color:#666;font-size:.9rem}
"""


def write_report(
    path: str | Path,
    *,
    title: str,
    metrics: pd.DataFrame,
    forecasts: pd.DataFrame,
    history: pd.DataFrame | None = None,
    data_summary: Mapping[str, object] | None = None,
    config: Mapping[str, object] | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write the backtest report to `path` (atomically, parent folders created); return it.

    `metrics` is long (model, fold, metric, value); `forecasts` has ds, fold, model, actual,
    forecast and optionally origin and unique_id; `history` has epoch, train_loss and
    optionally fold and val_loss. Models are ranked by mean MASE (else the first metric).
    """
    metrics = _validated(metrics, "metrics", METRICS_COLUMNS, numeric=("value",))
    forecasts = _validated(
        forecasts, "forecasts", FORECASTS_COLUMNS, numeric=("actual", "forecast")
    )
    forecasts["ds"] = _time_column(forecasts["ds"])
    if history is not None:
        losses = [c for c in ("val_loss",) if c in getattr(history, "columns", ())]
        history = _validated(
            history, "history", HISTORY_COLUMNS, numeric=[*HISTORY_COLUMNS, *losses]
        )

    metric_names = list(pd.unique(metrics["metric"]))
    rank_metric = next((m for m in metric_names if str(m).lower() == "mase"), metric_names[0])
    per_fold = (
        metrics.groupby(["fold", "model", "metric"], sort=False)["value"]
        .mean()
        .unstack("metric")
        .reindex(columns=metric_names)
    )
    stats = per_fold.groupby(level="model", sort=False).agg(["mean", "std"])
    means = stats.xs("mean", axis=1, level=1)[rank_metric]
    ranking = list(
        means.sort_values(ascending=not _higher_is_better(rank_metric), kind="stable").index
    )
    primary, shown = _chart_models(ranking, list(pd.unique(forecasts["model"])))

    sections = [
        _header(title, rank_metric),
        _summary_section(data_summary),
        _comparison_section(stats.loc[ranking], metric_names, rank_metric),
        _fold_section(per_fold, ranking, metric_names),
        _bar_section(means[ranking], rank_metric, primary),
        _forecast_section(forecasts, primary, shown),
        _history_section(history),
        _config_section(config),
        _notes_section(notes),
    ]
    return write_page(path, title, sections)


def write_page(path: str | Path, title: str, sections: Sequence[str]) -> Path:
    """Write one self-contained HTML page of the non-empty `sections`, atomically."""
    body = "\n".join(s for s in sections if s)
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
    path = Path(path)
    _write_atomic(path, document)
    return path


def _validated(
    frame: pd.DataFrame, name: str, required: Sequence[str], numeric: Iterable[str]
) -> pd.DataFrame:
    """A copy of `frame` with the `required` columns present and `numeric` ones as floats."""
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    for column in required:
        if column not in frame.columns:
            raise DataValidationError(
                f"{name} is missing column {column!r}; it needs the columns {list(required)} "
                f"and has {list(frame.columns)}"
            )
    frame = frame.copy()
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            row = frame.index[bad.to_numpy()][0]
            raise DataValidationError(
                f"{name} column {column!r} must be numeric; row {row} holds "
                f"{frame.at[row, column]!r}"
            )
        frame[column] = values.astype(float)
    if name != "history" and frame.empty:
        raise DataValidationError(f"{name} has no rows; the report needs at least one")
    return frame


def _time_column(ds: pd.Series) -> pd.Series:
    """`ds` as datetimes (or numbers, kept as they are: step indices)."""
    if pd.api.types.is_numeric_dtype(ds) or pd.api.types.is_datetime64_any_dtype(ds):
        return ds
    try:
        return pd.to_datetime(ds)
    except (ValueError, TypeError) as exc:
        raise DataValidationError(
            f"forecasts column 'ds' must hold datetimes or numbers: {exc}"
        ) from exc


def _higher_is_better(metric: object) -> bool:
    return str(metric).lower() in HIGHER_IS_BETTER


def _chart_models(ranking: list[str], available: list[str]) -> tuple[str, list[str]]:
    """The main model (best-ranked one named like an LSTM, else the best) and the models drawn.

    Forecast charts show the main model and the `BASELINES_SHOWN` best-ranked others only.
    """
    candidates = [m for m in ranking if m in available] + [m for m in available if m not in ranking]
    primary = next((m for m in candidates if "lstm" in str(m).lower()), candidates[0])
    others = [m for m in candidates if m != primary][:BASELINES_SHOWN]
    return primary, [primary, *others]


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "—"
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _th(text: object, numeric: bool = False) -> str:
    cls = "" if numeric else ' class="text"'
    return f"<th{cls}>{escape(str(text))}</th>"


def _td_text(text: object) -> str:
    return f'<td class="text">{escape(str(text))}</td>'


def _figure(chart_id: str, caption: str, svg: str, attrs: str = "") -> str:
    return (
        f'<figure class="chart" id="{chart_id}"{attrs}>\n'
        f"<figcaption>{caption}</figcaption>\n{svg}\n</figure>"
    )


def _header(title: str, rank_metric: str) -> str:
    direction = "higher" if _higher_is_better(rank_metric) else "lower"
    return (
        f'<header>\n<h1>{escape(title)}</h1>\n<p class="muted">Backtest report: models ranked '
        f"by mean {escape(str(rank_metric))} across folds ({direction} is better).</p>\n"
        "</header>"
    )


def _summary_section(data_summary: Mapping[str, object] | None) -> str:
    if not data_summary:
        return ""
    rows = "\n".join(
        f"<tr>{_th(key)}{_td_text(_summary_value(value))}</tr>"
        for key, value in data_summary.items()
    )
    return (
        '<section id="data-summary">\n<h2>Data</h2>\n'
        f'<table id="data-summary-table">\n{rows}\n</table>\n</section>'
    )


def _summary_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, Iterable):
        return ", ".join(str(v) for v in value)
    return str(value)


def _comparison_section(stats: pd.DataFrame, metric_names: list[str], rank_metric: str) -> str:
    header = "".join([_th("rank", True), _th("model")] + [_th(m, True) for m in metric_names])
    rows = []
    for rank, (model, row) in enumerate(stats.iterrows(), start=1):
        cells = []
        for metric in metric_names:
            mean, std = float(row[(metric, "mean")]), float(row[(metric, "std")])
            text = _fmt(mean) if not np.isfinite(std) else f"{_fmt(mean)} ± {_fmt(std)}"
            cells.append(f'<td data-mean="{mean!r}" data-std="{std!r}">{text}</td>')
        cls = ' class="best"' if rank == 1 else ""
        rows.append(f"<tr{cls}><td>{rank}</td>{_td_text(model)}{''.join(cells)}</tr>")
    return (
        '<section id="comparison">\n<h2>Model comparison</h2>\n'
        f'<p class="muted">Mean ± standard deviation across folds, ranked by '
        f"{escape(str(rank_metric))}; the best model is highlighted.</p>\n"
        f'<table id="comparison-table">\n<thead><tr>{header}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</section>"
    )


def _fold_section(per_fold: pd.DataFrame, ranking: list[str], metric_names: list[str]) -> str:
    order = {model: i for i, model in enumerate(ranking)}
    keys = sorted(per_fold.index, key=lambda key: (_sort_key(key[0]), order[key[1]]))
    header = "".join([_th("fold", True), _th("model")] + [_th(m, True) for m in metric_names])
    rows = "\n".join(
        f"<tr><td>{escape(str(fold))}</td>{_td_text(model)}"
        + "".join(f"<td>{_fmt(float(per_fold.at[(fold, model), m]))}</td>" for m in metric_names)
        + "</tr>"
        for fold, model in keys
    )
    return (
        '<details id="fold-metrics">\n<summary>Metrics per fold</summary>\n'
        f'<table id="fold-metrics-table">\n<thead><tr>{header}</tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table>\n</details>"
    )


def _sort_key(value: object) -> tuple[int, object]:
    """Numbers in numeric order, then anything else by its text."""
    if isinstance(value, int | float | np.integer | np.floating):
        return (0, float(value))
    return (1, str(value))


def _bar_section(means: pd.Series, rank_metric: str, primary: str) -> str:
    metric = escape(str(rank_metric))
    svg = metric_bar_chart(means, str(rank_metric), primary, prefix="chart-metric-")
    caption = f"Mean {metric} per model across folds, best on top; {escape(str(primary))} in red."
    return _figure("chart-metric", caption, svg)


def _forecast_section(forecasts: pd.DataFrame, primary: str, shown: list[str]) -> str:
    drawn = forecasts[forecasts["model"].isin(shown)]
    series: list[object] = [None]
    parts = ['<section id="forecasts">\n<h2>Forecasts</h2>']
    if "unique_id" in forecasts.columns:
        all_series = list(pd.unique(forecasts["unique_id"]))
        series = all_series[:MAX_SERIES]
        if len(all_series) > MAX_SERIES:
            parts.append(
                f'<p class="muted">Showing the first {MAX_SERIES} of {len(all_series)} series.</p>'
            )
    folds = sorted(pd.unique(forecasts["fold"]), key=_sort_key)
    names = ", ".join(escape(str(m)) for m in shown)
    n = 0
    for fold in folds:
        for uid in series:
            rows = drawn[drawn["fold"] == fold]
            if uid is not None:
                rows = rows[rows["unique_id"] == uid]
            if rows.empty:
                continue
            n += 1
            chart_id = f"chart-forecast-{n}"
            label = f"Fold {fold}" if uid is None else f"Fold {fold}, series {uid}"
            origins = rows["origin"].nunique() if "origin" in rows.columns else 1
            caption = (
                f"{escape(label)}: actual vs forecast of {names} "
                f"({origins} forecast origin{'s' if origins != 1 else ''})."
            )
            svg = forecast_chart(rows, shown, primary, label, prefix=f"{chart_id}-")
            attrs = f' data-fold="{escape(str(fold))}"'
            if uid is not None:
                attrs += f' data-series="{escape(str(uid))}"'
            parts.append(_figure(chart_id, caption, svg, attrs))
    parts.append("</section>")
    return "\n".join(parts)


def _history_section(history: pd.DataFrame | None) -> str:
    if history is None or history.empty:
        return ""
    svg = history_chart(history, prefix="chart-history-")
    caption = "Training loss (solid) and validation loss (dashed) per epoch."
    return (
        '<section id="training">\n<h2>Training</h2>\n'
        f"{_figure('chart-history', caption, svg)}\n</section>"
    )


def _config_section(config: Mapping[str, object] | None) -> str:
    if not config:
        return ""
    text = json.dumps(config, indent=2, default=str, ensure_ascii=False)
    return (
        '<section id="config">\n<h2>Configuration</h2>\n'
        f'<pre id="config-json">{escape(text)}</pre>\n</section>'
    )


def _notes_section(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "\n".join(f"<li>{escape(str(note))}</li>" for note in notes)
    return f'<section id="notes">\n<h2>Notes</h2>\n<ul>\n{items}\n</ul>\n</section>'


def _write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
