"""Matplotlib charts rendered to inline SVG strings.

Figures are built with `matplotlib.figure.Figure` directly (no pyplot, no GUI backend, no
global figure registry) and saved with the SVG backend into memory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Text stays text (small, searchable, no glyph outlines); a fixed salt makes ids reproducible.
_RC = {"svg.fonttype": "none", "svg.hashsalt": "lstmkit-report", "font.size": 9}
# Every metadata key set to None: no <metadata> block (it carries Dublin Core URLs and a date).
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_TAG = re.compile(r"<[^>]+>")
_ID_REF = re.compile(r'(\bid="|href="#|url\(#)')
ACTUAL_COLOR = "#222222"
PRIMARY_COLOR = "#d62728"
OTHER_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")


def figure_to_svg(fig: Figure, prefix: str) -> str:
    """The `<svg>` element of `fig`, with every internal id scoped by `prefix`.

    Drops the XML declaration and DOCTYPE (not valid inside HTML); ids are scoped so several
    charts in one page never share a clip path or marker id.
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_NO_METADATA)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    return _TAG.sub(lambda tag: _ID_REF.sub(rf"\g<1>{prefix}", tag.group(0)), svg).strip()


def _new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.subplots()
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def plain_text(label: object) -> str:
    """`label` as literal matplotlib text: `$` would otherwise start mathtext."""
    return str(label).replace("$", r"\$")


def _time_values(ds: pd.Series) -> np.ndarray:
    """Values for the x axis: naive datetimes (wall-clock time kept) or numbers."""
    if isinstance(ds.dtype, pd.DatetimeTZDtype):
        ds = ds.dt.tz_localize(None)
    return ds.to_numpy()


def _format_time_axis(ax: Axes, ds: pd.Series) -> None:
    if pd.api.types.is_datetime64_any_dtype(ds):
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _segmented(frame: pd.DataFrame, by: str | None, y: str) -> tuple[np.ndarray, np.ndarray]:
    """x/y arrays of `frame` sorted by time, with a NaN gap between groups of `by`."""
    groups = [frame] if by is None else [g for _, g in frame.groupby(by, sort=True)]
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for group in groups:
        series = group.groupby("ds", sort=True)[y].mean()
        x = _time_values(series.index.to_series())
        xs.extend([x, x[-1:]])
        ys.extend([series.to_numpy(dtype=float), np.array([np.nan])])
    return np.concatenate(xs[:-1]), np.concatenate(ys[:-1])


def _interval_band(ax: Any, rows: pd.DataFrame, origin: str | None) -> None:
    """Shade between the lowest and highest quantile columns of `rows`, if it has any."""
    levels = sorted((c for c in rows.columns if c.startswith("q") and c[1:2].isdigit()),
                    key=lambda c: float(c[1:]))
    if len(levels) < 2 or rows[levels].isna().all().all():
        return
    low, high = levels[0], levels[-1]
    x, lo = _segmented(rows, origin, low)
    _, hi = _segmented(rows, origin, high)
    share = round(100 * (float(high[1:]) - float(low[1:])))
    ax.fill_between(x, lo, hi, color=PRIMARY_COLOR, alpha=0.15, linewidth=0,
                    label=f"{share}% interval")


@matplotlib.rc_context(_RC)
def forecast_chart(
    frame: pd.DataFrame, models: Sequence[str], primary: str | None, title: str, prefix: str
) -> str:
    """Actual values and the forecasts of `models` over one fold (one series).

    `frame` holds the forecasts columns (ds, model, actual, forecast, optionally origin and
    quantile columns q<level>); each forecast origin is drawn as its own segment so separate
    origins are never joined. The primary model's outermost quantiles are shaded.
    """
    fig, ax = _new_figure(9.0, 3.2)
    origin = "origin" if "origin" in frame.columns else None
    _interval_band(ax, frame[frame["model"] == primary], origin)
    x, y = _segmented(frame.drop_duplicates(["ds"]), None, "actual")
    ax.plot(x, y, color=ACTUAL_COLOR, linewidth=1.4, label="actual")
    others = iter(OTHER_COLORS)
    for model in models:
        rows = frame[frame["model"] == model]
        x, y = _segmented(rows, origin, "forecast")
        is_primary = model == primary
        color = PRIMARY_COLOR if is_primary else next(others)
        ax.plot(
            x,
            y,
            color=color,
            linewidth=1.3 if is_primary else 1.0,
            linestyle="-" if is_primary else "--",
            label=plain_text(model),
        )
    _format_time_axis(ax, frame["ds"])
    ax.set_title(plain_text(title), loc="left")
    ax.set_xlabel("time")
    ax.set_ylabel("value")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure_to_svg(fig, prefix)


@matplotlib.rc_context(_RC)
def history_chart(history: pd.DataFrame, prefix: str) -> str:
    """Training and validation loss per epoch; one colour per fold, validation dashed."""
    fig, ax = _new_figure(9.0, 3.2)
    groups = history.groupby("fold", sort=True) if "fold" in history.columns else [(None, history)]
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (fold, rows) in enumerate(groups):
        rows = rows.sort_values("epoch")
        suffix = "" if fold is None else f" (fold {plain_text(fold)})"
        color = colors[i % len(colors)]
        ax.plot(rows["epoch"], rows["train_loss"], color=color, label=f"train{suffix}")
        if "val_loss" in rows.columns and rows["val_loss"].notna().any():
            ax.plot(
                rows["epoch"],
                rows["val_loss"],
                color=color,
                linestyle="--",
                label=f"validation{suffix}",
            )
    losses = history.filter(["train_loss", "val_loss"]).to_numpy(dtype=float)
    finite = losses[np.isfinite(losses)]
    if finite.size and (finite > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure_to_svg(fig, prefix)


@matplotlib.rc_context(_RC)
def metric_bar_chart(means: pd.Series, metric: str, primary: str | None, prefix: str) -> str:
    """Horizontal bars of the mean `metric` per model, in the order of `means` (best on top)."""
    fig, ax = _new_figure(7.0, 0.8 + 0.35 * len(means))
    labels = [plain_text(model) for model in means.index]
    colors = [PRIMARY_COLOR if model == primary else OTHER_COLORS[0] for model in means.index]
    positions = np.arange(len(means))
    ax.barh(positions, means.to_numpy(dtype=float), color=colors)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"mean {plain_text(metric)} across folds")
    ax.grid(False, axis="y")
    return figure_to_svg(fig, prefix)
