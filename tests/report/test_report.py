"""The HTML backtest report: ranking, charts, escaping, self-containment, atomic writes."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmkit.errors import DataValidationError
from lstmkit.report import html as report_html
from lstmkit.report import write_report

HOSTILE = "<script>alert(1)</script>"
# The only URLs allowed: XML namespace names on <svg>, which a browser never fetches.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


class ReportParser(HTMLParser):
    """Collects table rows (cell texts) by table id and the charts with what they contain."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.figures: dict[str, dict[str, object]] = {}
        self.tags: set[str] = set()
        self._table: str | None = None
        self._figure: str | None = None
        self._cell: list[str] | None = None
        self._caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        attr = dict(attrs)
        if tag == "table":
            self._table = attr.get("id")
            self.tables[self._table or ""] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "figure":
            assert attr.get("class") == "chart"
            self._figure = attr["id"]
            self.figures[self._figure] = {"svg": 0, "caption": "", "attrs": attr, "texts": []}
        elif tag == "svg" and self._figure is not None:
            self.figures[self._figure]["svg"] += 1
        elif tag == "figcaption":
            self._caption = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "figure":
            self._figure = None
        elif tag == "figcaption":
            self._caption = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._figure is not None:
            figure = self.figures[self._figure]
            if self._caption:
                figure["caption"] += data
            elif data.strip():
                figure["texts"].append(data.strip())


def make_metrics(models: list[str], folds: int = 3) -> pd.DataFrame:
    """MASE ranks `models` in list order, MAE in reverse; rows come in reverse order."""
    rows = []
    for rank, model in reversed(list(enumerate(models))):
        for fold in range(folds):
            rows.append((model, fold, "mae", 10.0 - rank + fold))
            rows.append((model, fold, "mase", 0.8 + 0.2 * rank + 0.1 * fold))
    return pd.DataFrame(rows, columns=["model", "fold", "metric", "value"])


def make_forecasts(
    models: list[str], folds: int = 3, series: list[str] | None = None, steps: int = 6
) -> pd.DataFrame:
    """Two forecast origins of `steps` half-hours per fold, for every model (and series)."""
    parts = []
    for fold in range(folds):
        for origin_no in range(2):
            origin = pd.Timestamp("2024-01-01") + pd.Timedelta(days=fold * 7 + origin_no)
            ds = pd.date_range(origin, periods=steps, freq="30min")
            actual = np.sin(np.arange(steps))
            for i, model in enumerate(models):
                part = pd.DataFrame(
                    {
                        "ds": ds,
                        "fold": fold,
                        "model": model,
                        "actual": actual,
                        "forecast": actual + 0.1 * (i + 1),
                        "origin": origin,
                    }
                )
                for uid in series or [None]:
                    parts.append(part if uid is None else part.assign(unique_id=uid))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, ReportParser]:
    models = ["lstm", HOSTILE]
    history = pd.DataFrame(
        {
            "fold": [0, 0, 1, 1],
            "epoch": [1, 2, 1, 2],
            "train_loss": [1.0, 0.5, 0.9, 0.4],
            "val_loss": [1.1, np.nan, 1.0, 0.6],
        }
    )
    path = tmp_path_factory.mktemp("report") / "runs" / "demo" / "report.html"
    written = write_report(
        path,
        title=f"Backtest {HOSTILE}",
        metrics=make_metrics(models),
        forecasts=make_forecasts(models),
        history=history,
        data_summary={"rows": 1234, "covariates": ["temperature", HOSTILE]},
        config={"lookback": 48, "note": HOSTILE},
        notes=[f"note {HOSTILE}"],
    )
    text = written.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(text)
    return written, text, parser


def test_comparison_table_ranks_models_by_mase_with_mean_and_std(report) -> None:
    path, text, parsed = report
    assert path.name == "report.html" and path.parent.name == "demo"
    header, *rows = parsed.tables["comparison-table"]
    assert header == ["rank", "model", "mae", "mase"]
    # lstm: mase 0.8/0.9/1.0, mae 10/11/12; the other: mase 1.0/1.1/1.2, mae 9/10/11.
    assert rows == [
        ["1", "lstm", "11 ± 1", "0.9 ± 0.1"],
        ["2", HOSTILE, "10 ± 1", "1.1 ± 0.1"],
    ]
    best = re.search(r'<tr class="best">(.*?)</tr>', text).group(1)
    assert ">lstm<" in best
    means = [float(m) for m in re.findall(r'data-mean="([^"]+)"', text)]
    assert means == pytest.approx([11.0, 0.9, 10.0, 1.1])


def test_fold_table_has_one_row_per_fold_and_model(report) -> None:
    _, text, parsed = report
    header, *rows = parsed.tables["fold-metrics-table"]
    assert header == ["fold", "model", "mae", "mase"]
    assert [row[:2] for row in rows] == [
        [str(fold), model] for fold in range(3) for model in ("lstm", HOSTILE)
    ]
    assert rows[0][2:] == ["10", "0.8"]
    assert re.search(r'<details id="fold-metrics">\s*<summary>', text)


def test_one_chart_per_fold_each_an_inline_svg(report) -> None:
    _, text, parsed = report
    forecasts = [k for k in parsed.figures if k.startswith("chart-forecast-")]
    assert len(forecasts) == 3
    assert [parsed.figures[k]["attrs"]["data-fold"] for k in forecasts] == ["0", "1", "2"]
    assert {"chart-metric", "chart-history"} <= parsed.figures.keys()
    for figure in parsed.figures.values():
        assert figure["svg"] == 1
        assert figure["caption"]
    assert "2 forecast origins" in parsed.figures[forecasts[0]]["caption"]
    assert text.count("<svg") == 5
    assert "<?xml" not in text and "<!DOCTYPE svg" not in text
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "ids from different charts collide"


def test_user_text_is_escaped_everywhere(report) -> None:
    _, text, parsed = report
    assert "<script" not in text.lower()
    assert "script" not in parsed.tags
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # title, h1, comparison row, fold rows, data summary, config, note, captions, legends.
    assert text.count(escaped) >= 10
    legend = parsed.figures["chart-forecast-1"]["texts"]
    assert HOSTILE in legend and "lstm" in legend


def test_no_external_references(report) -> None:
    _, text, _ = report
    urls = re.findall(r"""(\S*)(https?://[^\s"'<>)]*)""", text)
    assert urls, "the SVG namespaces are expected"
    for before, url in urls:
        assert re.fullmatch(r'xmlns(:xlink)?="', before) and url in NAMESPACES, (before, url)
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", text)
    assert not re.search(r"\bsrc=|@import|@font-face", text)
    assert set(re.findall(r"url\((.)", text)) <= {"#"}
    assert set(re.findall(r'href="(.)', text)) <= {"#"}


def test_charts_show_the_lstm_and_only_the_two_best_baselines(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(report_html, "MAX_SERIES", 2)  # fewer charts, same rule as the 8 default
    models = ["naive", "lstm", "mstl", "seasonal_naive_48"]  # MASE rank order
    series = ["s0", "s1", "s2"]
    path = write_report(
        tmp_path / "r.html",
        title="t",
        metrics=make_metrics(models, folds=1),
        forecasts=make_forecasts(models, folds=1, series=series, steps=3),
    )
    parsed = ReportParser()
    parsed.feed(path.read_text(encoding="utf-8"))
    charts = [f for k, f in parsed.figures.items() if k.startswith("chart-forecast-")]
    assert [f["attrs"]["data-series"] for f in charts] == series[:2]
    for figure in charts:
        legend = [t for t in figure["texts"] if t in models or t == "actual"]
        assert legend == ["actual", "lstm", "naive", "mstl"]
    assert "first 2 of 3 series" in path.read_text(encoding="utf-8")


def test_ranks_by_first_metric_without_mase(tmp_path: Path) -> None:
    metrics = make_metrics(["a", "b"], folds=2)
    metrics = metrics[metrics["metric"] == "mae"]
    path = write_report(
        tmp_path / "r.html", title="t", metrics=metrics, forecasts=make_forecasts(["a"], folds=1)
    )
    parsed = ReportParser()
    parsed.feed(path.read_text(encoding="utf-8"))
    assert [row[1] for row in parsed.tables["comparison-table"][1:]] == ["b", "a"]


def test_atomic_write_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    kwargs = {
        "title": "t",
        "metrics": make_metrics(["lstm"], folds=1),
        "forecasts": make_forecasts(["lstm"], folds=1),
    }
    path = write_report(tmp_path / "report.html", **kwargs)
    assert os.listdir(tmp_path) == ["report.html"]
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(path, **{**kwargs, "title": "changed"})
    assert os.listdir(tmp_path) == ["report.html"]
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("frame", "column"),
    [("metrics", "value"), ("metrics", "model"), ("forecasts", "forecast"), ("forecasts", "ds")],
)
def test_missing_column_names_frame_and_column(tmp_path: Path, frame: str, column: str) -> None:
    frames = {"metrics": make_metrics(["lstm"]), "forecasts": make_forecasts(["lstm"])}
    frames[frame] = frames[frame].drop(columns=column)
    with pytest.raises(DataValidationError, match=rf"{frame} is missing column '{column}'"):
        write_report(tmp_path / "r.html", title="t", **frames)
    assert not list(tmp_path.iterdir())


def test_non_numeric_values_are_rejected(tmp_path: Path) -> None:
    metrics = make_metrics(["lstm"]).astype({"value": object})
    metrics.loc[2, "value"] = "n/a"
    with pytest.raises(DataValidationError, match=r"metrics column 'value' must be numeric; row 2"):
        write_report(
            tmp_path / "r.html", title="t", metrics=metrics, forecasts=make_forecasts(["lstm"])
        )
