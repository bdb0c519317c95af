"""The anomaly detection report: one self-contained HTML file (inline CSS and SVG).

It shows the series with the flagged intervals (red) and the labelled events (green, when
labels are given), the scores with the threshold, close-ups of the strongest intervals and
of every labelled event, a metrics table and the list of intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lstmkit.errors import DataValidationError
from lstmkit.models.anomaly import flagged_runs
from lstmkit.report.charts import (
    _RC,
    ACTUAL_COLOR,
    OTHER_COLORS,
    PRIMARY_COLOR,
    figure_to_svg,
    plain_text,
)
from lstmkit.report.html import (
    _config_section,
    _figure,
    _fmt,
    _notes_section,
    _summary_section,
    _td_text,
    _th,
    write_page,
)

FLAG_COLOR = PRIMARY_COLOR
LABEL_COLOR = "#2ca02c"
MAX_CLOSEUPS = 4
MAX_INTERVAL_ROWS = 50

# metric key -> label shown in the table
METRIC_LABELS = {
    "event_precision": "event-wise precision",
    "event_recall": "event-wise recall",
    "event_f1": "event-wise F1",
    "event_events": "labelled events",
    "event_detected": "events detected",
    "event_false_positive_runs": "false-alarm runs",
    "point_precision": "point-wise precision",
    "point_recall": "point-wise recall",
    "point_f1": "point-wise F1",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
    "flagged": "flagged rows",
}


def write_anomaly_report(
    path: str | Path,
    *,
    title: str,
    values: pd.DataFrame,
    scores: np.ndarray,
    flags: np.ndarray,
    threshold: float,
    labels: np.ndarray | None = None,
    metrics: Mapping[str, float] | None = None,
    min_gap: int = 0,
    data_summary: Mapping[str, object] | None = None,
    config: Mapping[str, object] | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write the detection report to `path` (atomically, parent folders created).

    `values` holds the scored columns, indexed by time (or by row number); `scores` and
    `flags` have one entry per row; `labels` (0/1) draw the labelled events; `metrics` is a
    flat dict as returned by `lstmkit.evaluation.anomaly_metrics.anomaly_metrics`.
    """
    if not isinstance(values, pd.DataFrame) or values.empty:
        raise DataValidationError("values must be a non-empty DataFrame of the scored columns")
    n = len(values)
    scores = np.asarray(scores, dtype=float).reshape(-1)
    flags = np.asarray(flags).astype(int).reshape(-1)
    arrays = {"scores": scores, "flags": flags}
    if labels is not None:
        labels = np.asarray(labels).astype(int).reshape(-1)
        arrays["labels"] = labels
    for name, array in arrays.items():
        if len(array) != n:
            raise DataValidationError(f"{name} has {len(array)} rows, values has {n}; align them")

    times = values.index
    runs = flagged_runs(flags, min_gap)
    events = flagged_runs(labels) if labels is not None else []
    sections = [
        f'<header>\n<h1>{escape(title)}</h1>\n<p class="muted">Anomaly detection report: '
        f"{len(runs)} flagged interval(s) in {n:,} rows"
        + (f", {len(events)} labelled event(s)" if labels is not None else "")
        + ".</p>\n</header>",
        _summary_section(data_summary),
        _metrics_section(metrics),
        _overview_section(values, scores, threshold, runs, events),
        _closeup_section(values, scores, threshold, runs, events),
        _intervals_section(runs, scores, times, events),
        _config_section(config),
        _notes_section(notes),
    ]
    return write_page(path, title, sections)


def _metrics_section(metrics: Mapping[str, float] | None) -> str:
    if not metrics:
        return ""
    rows = "\n".join(
        f"<tr>{_th(METRIC_LABELS.get(key, key))}<td>{_fmt(float(value))}</td></tr>"
        for key, value in metrics.items()
    )
    return (
        '<section id="metrics">\n<h2>Metrics against the labels</h2>\n'
        f'<table id="metrics-table">\n{rows}\n</table>\n</section>'
    )


def _x(times: pd.Index) -> np.ndarray:
    if isinstance(times, pd.DatetimeIndex) and times.tz is not None:
        times = times.tz_localize(None)
    return np.asarray(times)


def _shade(ax, x: np.ndarray, runs: Sequence[tuple[int, int]], color: str, alpha: float,
           label: str) -> None:
    for i, (s, e) in enumerate(runs):
        lo = x[s]
        hi = x[e + 1] if e + 1 < len(x) else x[e]
        ax.axvspan(lo, hi, color=color, alpha=alpha, linewidth=0,
                   label=label if i == 0 else None)


@matplotlib.rc_context(_RC)
def _series_chart(values: pd.DataFrame, scores: np.ndarray, threshold: float,
                  runs: Sequence[tuple[int, int]], events: Sequence[tuple[int, int]],
                  prefix: str, rows: slice | None = None) -> str:
    """Series (top) and scores with the threshold (bottom), intervals shaded on both."""
    rows = rows or slice(0, len(values))
    part = values.iloc[rows]
    x = _x(part.index)
    offset = rows.start

    def local(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        out = []
        for s, e in spans:
            s, e = max(s, offset) - offset, min(e, rows.stop - 1) - offset
            if s <= e:
                out.append((s, e))
        return out

    fig = Figure(figsize=(9.0, 4.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    colors = [ACTUAL_COLOR, *OTHER_COLORS]
    for j, column in enumerate(part.columns):
        top.plot(x, part[column].to_numpy(dtype=float), color=colors[j % len(colors)],
                 linewidth=0.8, label=plain_text(column))
    bottom.plot(x, scores[rows], color=OTHER_COLORS[0], linewidth=0.8, label="score")
    if np.isfinite(threshold):
        bottom.axhline(threshold, color=FLAG_COLOR, linestyle="--", linewidth=0.9,
                       label=f"threshold {threshold:.3g}")
    for ax in (top, bottom):
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        _shade(ax, x, local(events), LABEL_COLOR, 0.25, "labelled")
        _shade(ax, x, local(runs), FLAG_COLOR, 0.2, "flagged")
    top.set_ylabel("value")
    bottom.set_ylabel("score")
    bottom.set_xlabel("time")
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure_to_svg(fig, prefix)


def _overview_section(values: pd.DataFrame, scores: np.ndarray, threshold: float,
                      runs: Sequence[tuple[int, int]], events: Sequence[tuple[int, int]]) -> str:
    svg = _series_chart(values, scores, threshold, runs, events, prefix="chart-overview-")
    caption = ("The series (top) and the anomaly score (bottom, dashed line: threshold); "
               "flagged intervals in red" + (", labelled events in green." if events else "."))
    return (
        '<section id="overview">\n<h2>Series and scores</h2>\n'
        f"{_figure('chart-overview', caption, svg)}\n</section>"
    )


def _closeup_section(values: pd.DataFrame, scores: np.ndarray, threshold: float,
                     runs: Sequence[tuple[int, int]], events: Sequence[tuple[int, int]]) -> str:
    peaks = sorted(runs, key=lambda r: -float(np.nanmax(scores[r[0]:r[1] + 1])))
    targets = [("labelled event", r) for r in events]
    targets += [("flagged interval", r) for r in peaks]
    shown: list[tuple[str, tuple[int, int]]] = []
    for kind, (s, e) in targets:
        if len(shown) >= MAX_CLOSEUPS:
            break
        if any(s <= e2 and e >= s2 for _, (s2, e2) in shown):
            continue  # already inside a close-up
        shown.append((kind, (s, e)))
    if not shown:
        return ""
    parts = ['<section id="closeups">\n<h2>Close-ups</h2>']
    for i, (kind, (s, e)) in enumerate(shown, start=1):
        pad = max(50, 2 * (e - s + 1))
        rows = slice(max(0, s - pad), min(len(values), e + pad + 1))
        svg = _series_chart(values, scores, threshold, runs, events,
                            prefix=f"chart-closeup-{i}-", rows=rows)
        label = f"{kind}: {values.index[s]} to {values.index[e]}"
        parts.append(_figure(f"chart-closeup-{i}", escape(label), svg))
    parts.append("</section>")
    return "\n".join(parts)


def _intervals_section(runs: Sequence[tuple[int, int]], scores: np.ndarray, times: pd.Index,
                       events: Sequence[tuple[int, int]]) -> str:
    header = "".join([_th("start"), _th("end"), _th("rows", True), _th("max score", True)]
                     + ([_th("labelled")] if events else []))
    order = sorted(runs, key=lambda r: -float(np.nanmax(scores[r[0]:r[1] + 1])))
    rows = []
    for s, e in order[:MAX_INTERVAL_ROWS]:
        cells = (f"{_td_text(times[s])}{_td_text(times[e])}<td>{e - s + 1}</td>"
                 f"<td>{_fmt(float(np.nanmax(scores[s:e + 1])))}</td>")
        if events:
            hit = any(s <= e2 and e >= s2 for s2, e2 in events)
            cells += _td_text("yes" if hit else "no")
        rows.append(f"<tr>{cells}</tr>")
    more = (f'<p class="muted">The {MAX_INTERVAL_ROWS} strongest of {len(runs)} intervals.</p>'
            if len(runs) > MAX_INTERVAL_ROWS else "")
    if not rows:
        return ('<section id="intervals">\n<h2>Flagged intervals</h2>\n'
                '<p class="muted">No row is flagged.</p>\n</section>')
    return (
        '<section id="intervals">\n<h2>Flagged intervals</h2>\n'
        f'{more}<table id="intervals-table">\n<thead><tr>{header}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</section>"
    )
