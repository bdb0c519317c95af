"""Load time series from CSV, Parquet or a DataFrame into one validated long frame."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import pandas as pd

from lstmkit.data import validation as v
from lstmkit.errors import ConfigError, DataValidationError

logger = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class SeriesFrame:
    """One or many validated series in the long layout statsforecast uses.

    ``frame`` has columns ``unique_id`` (str), ``ds`` (datetime64[ns], time-zone aware when
    the input was), ``y`` (float64) and the covariates (float64) in the user's order, sorted
    by unique_id then ds, with a default RangeIndex. A single (wide) series gets the target
    column's name as its id.
    """

    frame: pd.DataFrame
    target: str
    time_col: str
    id_col: str | None
    freq: str
    covariates: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """Series ids in frame order."""
        return tuple(self.frame["unique_id"].unique())

    @property
    def lengths(self) -> dict[str, int]:
        """Rows per series."""
        sizes = self.frame.groupby("unique_id", sort=False).size()
        return {str(uid): int(n) for uid, n in sizes.items()}

    def series(self, uid: str) -> pd.DataFrame:
        """The rows of one series, with a fresh RangeIndex."""
        rows = self.frame[self.frame["unique_id"] == uid]
        if rows.empty:
            shown = list(self.ids[:10])
            raise DataValidationError(f"no series {uid!r}; ids include {shown}")
        return rows.reset_index(drop=True)


def _csv_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        header = text.splitlines()[0]
        return max(DELIMITERS, key=header.count)


def _check_split(path: Path, text: str, delimiter: str, n_columns: int) -> None:
    """Reject a header or first row that stays one field but holds another delimiter."""
    lines = [line for line in text.splitlines() if line.strip()][:2]
    counts = [len(next(csv.reader([line], delimiter=delimiter))) for line in lines]
    for number, (line, count) in enumerate(zip(lines, counts, strict=True), start=1):
        seen = [d for d in DELIMITERS if d != delimiter and d in line]
        if count == 1 and seen and (n_columns == 1 or max(counts) > 1):
            raise DataValidationError(
                f"{path} does not split into columns on {delimiter!r}: line {number} {line!r} "
                f"stays a single column but contains {seen[0]!r}; use one delimiter throughout, "
                f"or read it with pd.read_csv(path, sep={seen[0]!r}) and pass the DataFrame"
            )


def read_csv(path: Path) -> pd.DataFrame:
    """Read a UTF-8 CSV whose delimiter is sniffed among ',', ';', tab and '|'."""
    raw = path.read_bytes()
    if not raw.strip():
        raise DataValidationError(f"{path} is empty; give a header line and data rows")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        byte = raw[err.start]
        as_latin = bytes([byte]).decode("cp1252", errors="replace")
        raise DataValidationError(
            f"{path} is not UTF-8: byte 0x{byte:02x} on line {line} (offset {err.start}) cannot "
            f"be decoded (in Latin-1/Windows-1252 it would be {as_latin!r}); re-encode the file "
            f"as UTF-8 (e.g. iconv -f latin1 -t utf-8 {path.name} > utf8.csv) or read it with "
            "pd.read_csv(path, encoding='latin-1') and pass the DataFrame"
        ) from None
    delimiter = _csv_delimiter(text)
    try:
        table = pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.ParserError as err:
        raise DataValidationError(
            f"{path} cannot be parsed with delimiter {delimiter!r}: {err}"
        ) from None
    _check_split(path, text, delimiter, table.shape[1])
    return table


def read_table(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The raw table and a name for messages; DataFrames are returned as given."""
    if isinstance(source, pd.DataFrame):
        return source, "the DataFrame"
    if not isinstance(source, str | Path):
        raise ConfigError(
            f"source must be a path or a pandas DataFrame, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.is_file():
        raise DataValidationError(f"no file at {path}; check the path")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path), str(path)
        except (OSError, ValueError) as err:
            raise DataValidationError(f"{path} cannot be read as Parquet: {err}") from None
    if suffix in CSV_SUFFIXES:
        return read_csv(path), str(path)
    raise DataValidationError(
        f"{path} has an unsupported file type {suffix!r}; give one of "
        f"{list(CSV_SUFFIXES + PARQUET_SUFFIXES)} or pass a pandas DataFrame"
    )


def load_series(
    source: str | Path | pd.DataFrame,
    *,
    time_col: str = "ds",
    target: str = "y",
    id_col: str | None = None,
    covariates: Sequence[str] | None = None,
    freq: str | None = None,
    fill_gaps: str | None = None,
    impute: str | None = None,
    min_length: int | None = None,
    min_length_reason: str = "",
) -> SeriesFrame:
    """Read, check and normalise time series into a :class:`SeriesFrame`.

    ``source`` is a CSV (delimiter sniffed, UTF-8), a Parquet file (.parquet/.pq) or a
    DataFrame (never modified). Wide data has one series (``id_col=None``); long data has
    one series per value of ``id_col``; either column may also be a level of the DataFrame's
    index. ``covariates=None`` takes every other numeric column.

    Checks, in order: rows present, columns present, parseable timestamps (kept naive, or
    time-zone aware when given so; differing UTC offsets become UTC), numeric values, time
    order (sorted with a warning), unique timestamps per series, one frequency (inferred per
    series unless ``freq`` is given), regular spacing without gaps (``fill_gaps`` inserts and
    fills missing steps by "interpolate", "ffill" or "zero"), finite values (``impute`` fills
    NaN/inf by "interpolate", "ffill", "zero" or "mean" per series) and ``min_length`` rows per
    series (``min_length_reason`` says why, e.g. "lookback 336 + horizon 48").

    Row numbers in messages count data rows from 0 in the order given (in a file, the first
    row after the header is row 0). Raises DataValidationError or ConfigError.
    """
    v.check_method("fill_gaps", fill_gaps, v.FILL_METHODS)
    v.check_method("impute", impute, v.IMPUTE_METHODS)
    if min_length is not None and (
        isinstance(min_length, bool) or not isinstance(min_length, Integral) or min_length < 1
    ):
        raise ConfigError(f"min_length must be a positive integer, got {min_length!r}")
    freq = v.check_freq(freq) if freq is not None else None

    table, what = read_table(source)
    if {time_col, id_col} & (set(table.index.names) - set(table.columns) - {None}):
        table = table.reset_index()
    v.check_not_empty(table, what)
    covs, ignored = v.resolve_columns(table, time_col, target, id_col, covariates)
    notes: list[str] = []
    if ignored:
        notes.append(f"ignored non-numeric column(s) {ignored}; name covariates= to use others")

    data = table.reset_index(drop=True)
    ds, tz_note = v.parse_timestamps(data[time_col], time_col)
    columns = {
        "unique_id": v.series_ids(data[id_col], id_col) if id_col else str(target),
        "ds": ds,
        "y": v.numeric_column(data[target], target, "target"),
    }
    for cov in covs:
        columns[cov] = v.numeric_column(data[cov], cov, "covariate")
    frame = pd.DataFrame(columns, index=data.index)
    notes += [tz_note] if tz_note else []

    frame, sort_note = v.sort_by_time(frame, time_col)
    notes += [sort_note] if sort_note else []
    v.check_unique_timestamps(frame, time_col, id_col)
    freq = freq or v.infer_frequency(frame)
    gaps = v.find_gaps(frame, freq, time_col)
    if gaps and fill_gaps is None:
        raise DataValidationError(v.describe_gaps(gaps, freq))
    if gaps:
        frame, added = v.fill_gaps(frame, freq, fill_gaps, ["y", *covs])
        notes.append(f"filled {len(gaps)} gap(s): added {added} row(s) by {fill_gaps}")

    labels = {"y": f"target column {target!r}", **{c: f"covariate column {c!r}" for c in covs}}
    if impute is None:
        v.check_finite(frame, labels)
    else:
        frame, impute_notes = v.impute(frame, labels, impute)
        notes += impute_notes

    result = SeriesFrame(
        frame=frame.reset_index(drop=True),
        target=target,
        time_col=time_col,
        id_col=id_col,
        freq=freq,
        covariates=tuple(covs),
        notes=tuple(notes),
    )
    if min_length is not None:
        v.check_min_length(result.lengths, min_length, min_length_reason)
    for note in notes:
        if note != sort_note:
            logger.info(note)
    return result
