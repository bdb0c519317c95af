"""`lstmkit export`: a saved model's network to ONNX (optionally int8), checked against PyTorch.

Writes MODEL.onnx (MODEL.int8.onnx with --quantize int8) next to the model folder, or
--output, plus the sidecar JSON with the same stem: input names, shapes and feature order,
the target's scaler, quantile levels or classes, and the lstmkit version.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from lstmkit.errors import LstmkitError

console = Console()


def _fail(err: LstmkitError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}")
    raise typer.Exit(code=1)


def export(
    model: Path = typer.Argument(..., help="A saved model folder (forecaster or classifier)."),
    format: str = typer.Option("onnx", "--format", help="Export format: onnx."),
    quantize: str | None = typer.Option(
        None, help="int8: dynamic quantisation (int8 weights) with onnxruntime."),
    output: Path | None = typer.Option(
        None, help="The .onnx file (default: next to MODEL, MODEL.onnx or MODEL.int8.onnx)."),
) -> None:
    """Export a saved model to ONNX and check it against PyTorch with onnxruntime."""
    from lstmkit.export import to_onnx

    if output is None:
        output = model.parent / f"{model.name}{'.' + quantize if quantize else ''}.onnx"
    try:
        report = to_onnx(model, output, quantize=quantize, format=format)
    except LstmkitError as err:
        _fail(err)
    line = (f"wrote {report.path} ({report.size_bytes / 1024:.1f} KiB) and {report.sidecar.name}"
            f"\nfp32 max |ONNX - PyTorch| = {report.fp32_max_abs_error:.2e} (tolerance "
            f"{report.tolerance:g}) on inputs {', '.join(report.samples)}")
    if report.quantize:
        line += f"\n{report.quantize} max |ONNX - PyTorch| = {report.max_abs_error:.2e}"
    console.print(line, markup=False, highlight=False)
