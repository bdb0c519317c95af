"""The explanation page and tables: every chart present, self-contained, CSV round trip."""

from __future__ import annotations

import re

import pandas as pd

from lstmkit.explain import explain_model


def test_report_and_tables(seq2seq_model, data, tmp_path) -> None:
    result = explain_model(seq2seq_model, data, data["ds"].iloc[60], repeats=2,
                           attention_origins=5)
    assert result.attention is not None and result.attention["origin"].nunique() == 5
    assert result.attention["origin"].max() == data["ds"].iloc[60] == result.attribution.origin
    written = result.to_csv(tmp_path)
    assert [p.name for p in written] == ["importance.csv", "attributions.csv", "attention.csv"]
    importance = pd.read_csv(tmp_path / "importance.csv")
    assert list(importance.columns) == ["scope", "name", "kind", "offset_start", "offset_end",
                                        "importance_mean", "importance_std", "metric",
                                        "baseline"]
    assert len(pd.read_csv(tmp_path / "attention.csv")) == 5 * 2 * 8
    page = result.report(tmp_path / "explain.html", title="<b>demo</b>").read_text()
    for chart in ("chart-importance", "chart-time-importance", "chart-attribution",
                  "chart-attribution-map", "chart-attention", "chart-attention-steps"):
        assert f'id="{chart}"' in page
    assert "&lt;b&gt;demo&lt;/b&gt;" in page and "<b>demo</b>" not in page
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert 'id="importance-table"' in page and ">x</td>" in page


def test_report_without_attention(make_model, data, tmp_path) -> None:
    model = make_model(max_epochs=1)
    result = explain_model(model, data, repeats=1)
    assert result.attention is None
    assert [p.name for p in result.to_csv(tmp_path)] == ["importance.csv", "attributions.csv"]
    page = result.report(tmp_path / "explain.html").read_text()
    assert 'id="chart-attribution-map"' in page and 'id="attention"' not in page
