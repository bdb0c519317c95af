"""Backtest reports: one self-contained HTML file with inline SVG charts."""

from __future__ import annotations

from lstmkit.report.html import write_report

__all__ = ["write_report"]
