"""The explanation report: one self-contained HTML page (inline CSS and SVG).

Sections: permutation importance of the features and of the lookback steps (bars with the
standard deviation over repeats), integrated gradients of one forecast (bars per feature and
a feature x time heat-map) and, for models with attention, the attention heat-map over the
lookback (origins x lookback steps, and forecast steps x lookback steps for seq2seq).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lstmkit.report.charts import _RC, OTHER_COLORS, PRIMARY_COLOR, figure_to_svg, plain_text
from lstmkit.report.html import _figure, _fmt, _summary_section, _td_text, _th, write_page

MAX_BARS = 30
MAX_LABELS = 16


def write_explain_report(
    path: str | Path,
    *,
    title: str,
    importance: pd.DataFrame,
    attributions: pd.DataFrame,
    attention: pd.DataFrame | None = None,
    summary: Mapping[str, object] | None = None,
) -> Path:
    """Write the page to `path` (atomically); return it.

    `importance` is `PermutationImportance.table()`, `attributions` the cells of an
    `Attribution`, `attention` the table of `attention_weights` (or None).
    """
    sections = [
        f'<header>\n<h1>{escape(title)}</h1>\n<p class="muted">How the forecaster uses its '
        "inputs: permutation importance over many origins, integrated gradients of one "
        "forecast, attention over the lookback.</p>\n</header>",
        _summary_section(summary),
        _importance_section(importance),
        _attribution_section(attributions),
        _attention_section(attention),
    ]
    return write_page(path, title, sections)


def _importance_section(table: pd.DataFrame) -> str:
    metric = escape(str(table["metric"].iloc[0])) if len(table) else "metric"
    feats = table[table["scope"] == "feature"]
    steps = table[table["scope"] == "time step"]
    bars = _bars(feats["name"], feats["importance_mean"], feats["importance_std"],
                 f"increase of {metric} when shuffled", "chart-importance-")
    step_svg = _step_bars(steps, metric)
    rows = "\n".join(
        f"<tr>{_td_text(r.name)}{_td_text(r.kind)}<td>{_fmt(r.importance_mean)}</td>"
        f"<td>{_fmt(r.importance_std)}</td></tr>" for r in feats.itertuples())
    baseline = _fmt(float(table["baseline"].iloc[0])) if len(table) else "—"
    return (
        '<section id="importance">\n<h2>Permutation importance</h2>\n'
        f'<p class="muted">Increase of {metric} (baseline {baseline}) when one feature, or '
        "one block of lookback steps, is shuffled across the forecast windows; mean ± std "
        "over the repeats. Higher: the forecast relies on it more.</p>\n"
        + _figure("chart-importance", "Features, most important on top.", bars)
        + "\n" + _figure("chart-time-importance",
                         "Lookback steps (t-1 is the step just before the origin).", step_svg)
        + f'\n<table id="importance-table">\n<thead><tr>{_th("feature")}{_th("kind")}'
        f'{_th("importance", True)}{_th("std", True)}</tr></thead>\n<tbody>\n{rows}\n'
        "</tbody>\n</table>\n</section>"
    )


def _attribution_section(cells: pd.DataFrame) -> str:
    total = cells.assign(abs_attribution=cells["attribution"].abs()).groupby(
        "feature", sort=False)[["attribution", "abs_attribution"]].sum().sort_values(
        "abs_attribution", ascending=False)
    bars = _bars(pd.Series(total.index), total["abs_attribution"], None,
                 "sum of |attribution| (target units)", "chart-attribution-")
    grid = cells.pivot_table(index="feature", columns="offset", values="attribution",
                             aggfunc="sum", sort=False).reindex(index=total.index)
    heat = _heatmap(grid.to_numpy(), [str(v) for v in grid.index],
                    [int(v) for v in grid.columns], "offset from the origin (steps)",
                    "attribution", "chart-attribution-map-", diverging=True)
    rows = "\n".join(
        f"<tr>{_td_text(name)}<td>{_fmt(r.attribution)}</td><td>{_fmt(r.abs_attribution)}"
        "</td></tr>" for name, r in total.iterrows())
    return (
        '<section id="attributions">\n<h2>Integrated gradients</h2>\n'
        '<p class="muted">Attribution of one forecast to every input (target units), from a '
        "baseline of zeros in scaled space (every scaled input at its training mean); the "
        "attributions sum to the forecast minus the baseline's forecast.</p>\n"
        + _figure("chart-attribution", "Features by total absolute attribution.", bars)
        + "\n" + _figure("chart-attribution-map",
                         "Attribution per feature and step: negative offsets are the lookback, "
                         "0 and later the forecast steps (red raises the forecast).", heat)
        + f'\n<table id="attribution-table">\n<thead><tr>{_th("feature")}'
        f'{_th("attribution", True)}{_th("|attribution|", True)}</tr></thead>\n<tbody>\n'
        f"{rows}\n</tbody>\n</table>\n</section>"
    )


def _attention_section(attention: pd.DataFrame | None) -> str:
    if attention is None or attention.empty:
        return ""
    per_origin = attention.groupby(["origin", "offset"], sort=True)["weight"].mean().unstack()
    labels = [str(pd.Timestamp(t)) for t in per_origin.index]
    weights = per_origin.to_numpy()
    parts = [
        '<section id="attention">\n<h2>Attention</h2>\n<p class="muted">Weights the model '
        f"put on each lookback step (each row sums to 1): from {_fmt(np.nanmin(weights))} to "
        f"{_fmt(np.nanmax(weights))}, where uniform attention would give "
        f"{_fmt(1 / weights.shape[1])} to every step.</p>",
        _figure("chart-attention", "Attention per forecast origin (rows) over the lookback "
                "steps (mean over forecast steps).",
                _heatmap(weights, labels, [int(v) for v in per_origin.columns],
                         "lookback step (offset from the origin)", "weight",
                         "chart-attention-map-")),
    ]
    if attention["step"].notna().any():
        last = attention[attention["origin"] == attention["origin"].max()]
        grid = last.pivot_table(index="step", columns="offset", values="weight")
        parts.append(_figure(
            "chart-attention-steps",
            f"Attention of each forecast step at origin {escape(str(last['origin'].iloc[0]))}.",
            _heatmap(grid.to_numpy(), [f"step {int(s)}" for s in grid.index],
                     [int(v) for v in grid.columns], "lookback step (offset from the origin)",
                     "weight", "chart-attention-steps-map-")))
    parts.append("</section>")
    return "\n".join(parts)


@matplotlib.rc_context(_RC)
def _bars(names: pd.Series, values: pd.Series, errors: pd.Series | None, label: str,
          prefix: str) -> str:
    """Horizontal bars in the given order (first on top), at most MAX_BARS."""
    names, values = list(names)[:MAX_BARS], np.asarray(values, dtype=float)[:MAX_BARS]
    fig = Figure(figsize=(7.0, 0.8 + 0.3 * len(names)), layout="constrained")
    ax = fig.subplots()
    positions = np.arange(len(names))
    xerr = None if errors is None else np.asarray(errors, dtype=float)[:MAX_BARS]
    ax.barh(positions, values, xerr=xerr, color=OTHER_COLORS[0], ecolor="#444444")
    ax.set_yticks(positions, [plain_text(n) for n in names])
    ax.invert_yaxis()
    ax.axvline(0.0, color="#888888", linewidth=0.6)
    ax.set_xlabel(label)
    return figure_to_svg(fig, prefix)


@matplotlib.rc_context(_RC)
def _step_bars(steps: pd.DataFrame, metric: str) -> str:
    """Vertical bars per lookback block, oldest on the left."""
    steps = steps.sort_values("offset_start")
    fig = Figure(figsize=(7.0, 2.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(steps))
    ax.bar(x, steps["importance_mean"].to_numpy(float), yerr=steps["importance_std"].to_numpy(
        float), color=PRIMARY_COLOR, ecolor="#444444")
    ticks = _thinned(len(steps))
    ax.set_xticks(x[ticks], [plain_text(n) for n in steps["name"].to_numpy()[ticks]],
                  rotation=45, ha="right")
    ax.axhline(0.0, color="#888888", linewidth=0.6)
    ax.set_ylabel(f"increase of {metric}")
    return figure_to_svg(fig, "chart-time-importance-")


@matplotlib.rc_context(_RC)
def _heatmap(values: np.ndarray, rows: list[str], columns: list[int], xlabel: str,
             colorbar: str, prefix: str, diverging: bool = False) -> str:
    """A rows x columns heat-map (NaN cells grey); diverging colours centred at 0."""
    fig = Figure(figsize=(7.5, 1.2 + 0.22 * min(len(rows), 40)), layout="constrained")
    ax = fig.subplots()
    if diverging:
        limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
        options = {"cmap": matplotlib.colormaps["RdBu_r"].with_extremes(bad="#e6e6e6"),
                   "vmin": -limit or -1.0, "vmax": limit or 1.0}
    else:
        options = {"cmap": matplotlib.colormaps["viridis"].with_extremes(bad="#e6e6e6")}
    image = ax.imshow(values, aspect="auto", interpolation="nearest", **options)
    ax.grid(False)
    xt, yt = _thinned(len(columns)), _thinned(len(rows))
    ax.set_xticks(xt, [str(columns[i]) for i in xt])
    ax.set_yticks(yt, [plain_text(rows[i]) for i in yt])
    ax.set_xlabel(xlabel)
    fig.colorbar(image, ax=ax, label=colorbar, shrink=0.9)
    return figure_to_svg(fig, prefix)


def _thinned(n: int) -> np.ndarray:
    """At most MAX_LABELS evenly spaced tick positions of n, the last one included."""
    step = max(1, int(np.ceil(n / MAX_LABELS)))
    return np.unique(np.r_[np.arange(0, n, step), n - 1]) if n else np.zeros(0, dtype=int)
