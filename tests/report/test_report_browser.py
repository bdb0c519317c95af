"""The report as a real browser renders it: headless Chromium loads the file, we read its DOM."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmkit.report import write_report

INSTALL_HINT = (
    "the report browser test needs Chromium; install it with "
    "`apt-get install -y chromium` (Debian/Ubuntu)"
)
MODELS = ["lstm", "naive", "<b>seasonal</b>"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_chromium() -> str:
    """Chromium's path; without it, fail on CI (CI=true) and skip elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return found


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a throw-away profile, no network services, no GPU."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    command = [
        find_chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={home / 'profile'}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


class DomParser(HTMLParser):
    """Figures with the SVG shapes inside them, and the comparison table's body rows."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, dict[str, int]] = {}
        self.rows: list[list[str]] = []
        self.open_tags: list[str] = []
        self._figure: str | None = None
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "figure" and attr.get("class") == "chart":
            self._figure = attr["id"]
            self.figures[self._figure] = {"svg": 0, "shapes": 0, "texts": 0}
        elif self._figure is not None and tag in ("svg", "path", "text"):
            key = {"svg": "svg", "path": "shapes", "text": "texts"}[tag]
            self.figures[self._figure][key] += 1
        elif tag == "table" and attr.get("id") == "comparison-table":
            self._in_table = True
        elif self._in_table and tag == "tr" and "tbody" in self.open_tags:
            self.rows.append([])
        elif self._in_table and tag == "td":
            self._cell = []
        self.open_tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open_tags:
            del self.open_tags[len(self.open_tags) - 1 - self.open_tags[::-1].index(tag) :]
        if tag == "figure":
            self._figure = None
        elif tag == "table":
            self._in_table = False
        elif tag == "td" and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    metrics = pd.DataFrame(
        [(m, f, "mase", 0.7 + 0.2 * i + 0.05 * f) for i, m in enumerate(MODELS) for f in range(2)]
        + [(m, f, "rmse", 3.0 + i) for i, m in enumerate(MODELS) for f in range(2)],
        columns=["model", "fold", "metric", "value"],
    )
    ds = pd.date_range("2024-03-01", periods=24, freq="h")
    forecasts = pd.concat(
        pd.DataFrame(
            {
                "ds": ds + pd.Timedelta(days=fold),
                "fold": fold,
                "model": model,
                "actual": np.sin(np.arange(24) / 4),
                "forecast": np.sin(np.arange(24) / 4) + rng.normal(0, 0.1, 24),
            }
        )
        for fold in range(2)
        for model in MODELS
    )
    history = pd.DataFrame(
        {
            "epoch": range(1, 6),
            "train_loss": [1, 0.6, 0.4, 0.3, 0.25],
            "val_loss": [1.1, 0.7, 0.5, 0.45, 0.44],
        }
    )
    path = tmp_path_factory.mktemp("browser") / "report.html"
    return write_report(
        path,
        title="Browser check",
        metrics=metrics,
        forecasts=forecasts,
        history=history,
        config={"hidden_size": 8},
    )


@pytest.mark.slow
def test_chromium_renders_charts_and_comparison_table(report_file: Path, tmp_path: Path) -> None:
    dom = run_chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    parsed = DomParser()
    parsed.feed(dom)

    assert list(parsed.figures) == [
        "chart-metric",
        "chart-forecast-1",
        "chart-forecast-2",
        "chart-history",
    ]
    for name, figure in parsed.figures.items():
        assert figure["svg"] == 1, name
        assert figure["shapes"] > 5 and figure["texts"] > 3, (name, figure)
    assert [row[:2] for row in parsed.rows] == [["1", "lstm"], ["2", "naive"], ["3", MODELS[2]]]
    assert parsed.rows[0][2:] == ["0.725 ± 0.03536", "3 ± 0"]
    assert "&lt;b&gt;seasonal&lt;/b&gt;" in dom and "<b>seasonal" not in dom


@pytest.mark.slow
def test_chromium_screenshot_is_a_real_page(report_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    run_chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,2400",
        "--hide-scrollbars",
        report_file.as_uri(),
    )
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 50_000, "a page with charts compresses to far more than a blank one"
