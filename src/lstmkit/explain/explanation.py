"""All explanations of a forecaster at once, as tables and one HTML page (`lstmkit explain`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lstmkit.explain._inputs import Origins, check_model, design_of, origin_rows, series_of
from lstmkit.explain.attention import attention_weights, has_attention_weights
from lstmkit.explain.gradients import Attribution, integrated_gradients
from lstmkit.explain.permutation import PermutationImportance, permutation_importance


@dataclass
class Explanation:
    """Permutation importance over many origins, integrated gradients of one forecast and,
    for models with attention, the attention weights of the origins up to it."""

    importance: PermutationImportance
    attribution: Attribution
    attention: pd.DataFrame | None

    def to_csv(self, folder: str | Path) -> list[Path]:
        """Write importance.csv, attributions.csv and attention.csv (with attention)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tables = {"importance.csv": self.importance.table(),
                  "attributions.csv": self.attribution.cells}
        if self.attention is not None:
            tables["attention.csv"] = self.attention
        for name, table in tables.items():
            table.to_csv(folder / name, index=False)
        return [folder / name for name in tables]

    def summary(self) -> dict[str, object]:
        """Headline numbers: what was explained and how well the attributions add up."""
        imp, att = self.importance, self.attribution
        return {
            "forecast explained": f"series {att.series!r}, origin {att.origin}, "
                                  + ("mean over the horizon" if att.step is None
                                     else f"step {att.step}"),
            "forecast / baseline forecast": f"{att.forecast:.6g} / {att.baseline_forecast:.6g}",
            "sum of attributions - difference": f"{att.delta:.3g}",
            "permutation importance": f"{imp.metric} {imp.baseline:.6g} over {imp.n_origins} "
                                      f"origins, {imp.repeats} repeats",
        }

    def report(self, path: str | Path, title: str = "Forecast explanation") -> Path:
        """Write the self-contained HTML page (heat-maps and bar charts)."""
        from lstmkit.report.explain import write_explain_report

        return write_explain_report(
            path, title=title, importance=self.importance.table(),
            attributions=self.attribution.cells, attention=self.attention,
            summary=self.summary())


def explain_model(
    model: Any,
    data: Any,
    origin: Origins = None,
    *,
    series: str | None = None,
    repeats: int = 5,
    metric: str = "mae",
    time_block: int | None = None,
    max_origins: int = 256,
    attention_origins: int = 24,
    n_steps: int = 64,
    seed: int = 0,
) -> Explanation:
    """Permutation importance (over up to `max_origins` origins of `data`), integrated
    gradients at `origin` (default: the latest possible one) and, when the model has
    attention (one network, not an ensemble), the weights at the `attention_origins` origins
    ending at `origin`."""
    model = check_model(model)
    data = series_of(model, data)  # loaded and validated once
    importance = permutation_importance(
        model, data, series=series, repeats=repeats, metric=metric, time_block=time_block,
        max_origins=max_origins, seed=seed)
    attribution = integrated_gradients(model, data, origin, series=series, n_steps=n_steps)
    attention = None
    if has_attention_weights(model):
        design = design_of(model, data)
        row = origin_rows(model, design, attribution.origin, attribution.series)[0]
        start = design.segments[attribution.series][0] + model.lookback + model.spec_.max_lag
        times = design.times[max(start, row - attention_origins + 1): row + 1]
        attention = attention_weights(model, data, list(times), series=attribution.series)
    return Explanation(importance, attribution, attention)
