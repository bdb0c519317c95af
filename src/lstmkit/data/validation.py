"""Checks and repairs for long time-series frames.

The functions work on the canonical long layout (columns ``unique_id``, ``ds``, ``y`` and
covariates) whose index holds each row's position in the user's table, counted from 0 (the
first data row of a file is row 0). Added rows (from gap filling) carry the row number -1.
Messages use the user's column names, which the caller passes in.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pandas.tseries.frequencies import to_offset

from lstmkit.errors import ConfigError, DataValidationError

logger = logging.getLogger(__name__)

FILL_METHODS = ("interpolate", "ffill", "zero")
IMPUTE_METHODS = ("interpolate", "ffill", "zero", "mean")
SHOW = 5  # how many offending rows or gaps a message lists
MAX_GRID_FACTOR = 10  # a frequency may at most add this many grid points per observation
_TZ_SUFFIX = r"(?:Z|[+-]\d\d:?\d\d|UTC|GMT)\s*$"
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


@dataclass(frozen=True)
class Gap:
    """Missing grid steps after one observed timestamp."""

    series: str
    after: pd.Timestamp
    row: int
    missing: int


def _rows(labels: Sequence[int] | pd.Index) -> str:
    shown = [str(r) if r >= 0 else "(added)" for r in list(labels)[:SHOW]]
    more = len(labels) - SHOW
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def check_not_empty(table: pd.DataFrame, what: str) -> None:
    """Reject a table without rows."""
    if table.empty:
        detail = f"columns {list(table.columns)} but no rows" if len(table.columns) else "no data"
        raise DataValidationError(f"{what} has {detail}; give at least one data row")


def resolve_columns(
    table: pd.DataFrame,
    time_col: str,
    target: str,
    id_col: str | None,
    covariates: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """Check the named columns exist; return (covariates, ignored non-numeric columns).

    With ``covariates=None`` every other numeric (or boolean) column is a covariate.
    """
    available = [str(c) for c in table.columns]
    flags = {time_col: "--time-col / time_col=", target: "--target / target="}
    if id_col is not None:
        flags[id_col] = "--id-col / id_col="
    for column, flag in flags.items():
        if column not in table.columns:
            role = {time_col: "time", target: "target", id_col: "id"}[column]
            raise DataValidationError(
                f"{role} column {column!r} not found; available columns: {available}; "
                f"name the right one with {flag}"
            )
    roles = [time_col, target] + ([id_col] if id_col is not None else [])
    if len(set(roles)) < len(roles):
        raise ConfigError(f"time, target and id columns must differ, got {roles}")
    if covariates is None:
        others = [c for c in table.columns if c not in roles]
        chosen = [c for c in others if _is_numeric(table[c])]
        ignored = [str(c) for c in others if c not in chosen]
    else:
        chosen, ignored = list(covariates), []
        missing = [c for c in chosen if c not in table.columns]
        if missing:
            raise DataValidationError(
                f"covariate column(s) {missing} not found; available columns: {available}"
            )
        repeated = sorted({c for c in chosen if chosen.count(c) > 1 or c in roles})
        if repeated:
            raise ConfigError(
                f"covariates {repeated} are listed twice or are also the time/target/id column"
            )
    clashes = [c for c in chosen if c in ("unique_id", "ds", "y")]
    if clashes:
        raise ConfigError(
            f"covariate column(s) {clashes} would clash with the long frame's unique_id/ds/y "
            "columns; rename them"
        )
    return [str(c) for c in chosen], ignored


def _is_numeric(values: pd.Series) -> bool:
    return ptypes.is_bool_dtype(values) or (
        ptypes.is_numeric_dtype(values) and not ptypes.is_complex_dtype(values)
    )


def numeric_column(values: pd.Series, column: str, role: str) -> pd.Series:
    """Return ``values`` as float64, or name the first value that is not a number."""
    if _is_numeric(values):
        return values.astype("float64")
    if ptypes.is_datetime64_any_dtype(values) or ptypes.is_timedelta64_dtype(values):
        raise DataValidationError(
            f"{role} column {column!r} holds {values.dtype} values, not numbers; "
            "convert it or leave it out"
        )
    parsed = pd.to_numeric(values.astype("object"), errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(bad.idxmax())
        value = values.loc[row]
        hint = (
            "; it looks like a decimal comma: read the file with "
            "pd.read_csv(path, sep=';', decimal=',') and pass the DataFrame"
            if isinstance(value, str) and _DECIMAL_COMMA.match(value)
            else ""
        )
        raise DataValidationError(
            f"{role} column {column!r} is not numeric: row {row} holds {value!r} "
            f"({int(bad.sum())} non-numeric value(s)); convert or drop the column{hint}"
        )
    return parsed.astype("float64")


def series_ids(values: pd.Series, column: str) -> pd.Series:
    """Series ids as strings; missing ids are an error."""
    missing = values.isna()
    if missing.any():
        raise DataValidationError(
            f"id column {column!r} is empty in rows {_rows(values.index[missing])}; "
            "give every row a series id"
        )
    return values.astype(str)


def parse_timestamps(values: pd.Series, column: str) -> tuple[pd.Series, str | None]:
    """Parse the time column to datetime64[ns]; return it and a note when offsets were unified.

    Naive timestamps stay naive; timestamps with one time zone keep it; timestamps whose UTC
    offsets differ (for example across a daylight-saving change) are converted to UTC.
    Mixing timestamps with and without a time zone is an error.
    """
    missing = values.isna()
    if missing.any():
        raise DataValidationError(
            f"time column {column!r} is empty in rows {_rows(values.index[missing])}; "
            "drop those rows or fill in their timestamps"
        )
    if ptypes.is_datetime64_any_dtype(values):
        return values.dt.as_unit("ns"), None
    if _is_numeric(values):
        raise DataValidationError(
            f"time column {column!r} holds numbers (row {values.index[0]}: {values.iloc[0]}), "
            "not timestamps; convert them, e.g. pd.to_datetime(df[col], unit='s'), "
            "or build them with pd.date_range(start, periods=len(df), freq=...)"
        )
    text = values.astype(str)
    aware = text.str.contains(_TZ_SUFFIX, regex=True)
    if aware.any() and not aware.all():
        a, n = values.index[aware.to_numpy()][0], values.index[~aware.to_numpy()][0]
        raise DataValidationError(
            f"time column {column!r} mixes timestamps with a time zone (row {a}: "
            f"{text.loc[a]!r}) and without (row {n}: {text.loc[n]!r}); make them consistent"
        )
    note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (FutureWarning, UserWarning))
        try:
            parsed = pd.to_datetime(values, errors="coerce")
        except (ValueError, TypeError):  # mixed offsets in newer pandas
            parsed = values.astype("object")
        if not ptypes.is_datetime64_any_dtype(parsed):
            parsed = pd.to_datetime(values, errors="coerce", utc=True)
            note = f"time column {column!r} had several UTC offsets; converted to UTC"
    bad = parsed.isna()
    if bad.any():
        rows = values.index[bad.to_numpy()]
        first = rows[0]
        raise DataValidationError(
            f"time column {column!r} has {len(rows)} unparseable timestamp(s): row {first} "
            f"holds {values.loc[first]!r} (rows {_rows(rows)}); the format was inferred from "
            f"row {values.index[0]} ({values.iloc[0]!r}); fix or drop those rows"
        )
    return parsed.dt.as_unit("ns"), note


def sort_by_time(frame: pd.DataFrame, time_col: str) -> tuple[pd.DataFrame, str | None]:
    """Sort by (unique_id, ds); return a note and log a warning when time was out of order."""
    in_order = frame.groupby("unique_id", sort=False)["ds"].is_monotonic_increasing
    note = None
    if not in_order.all():
        uid = in_order.index[~in_order.to_numpy()][0]
        ds = frame.loc[frame["unique_id"] == uid, "ds"]
        back = ds.diff() < pd.Timedelta(0)
        row = int(back.idxmax())
        pos = ds.index.get_loc(row)
        note = (
            f"sorted rows by {time_col!r}; series out of time order: {int((~in_order).sum())} "
            f"(first: series {uid!r}, row {row}: {ds.iloc[pos]} after {ds.iloc[pos - 1]})"
        )
        logger.warning(note)
    ordered = frame.sort_values(["unique_id", "ds"], kind="stable")
    return ordered, note


def check_unique_timestamps(frame: pd.DataFrame, time_col: str, id_col: str | None) -> None:
    """Reject repeated timestamps within a series (frame sorted by unique_id, ds)."""
    repeated = frame.duplicated(["unique_id", "ds"], keep=False)
    if not repeated.any():
        return
    dup = frame[repeated]
    first = dup[["unique_id", "ds"]].iloc[0]
    rows = dup.index[(dup["unique_id"] == first["unique_id"]) & (dup["ds"] == first["ds"])]
    n_stamps = len(dup.drop_duplicates(["unique_id", "ds"]))
    keys = f"[{id_col!r}, {time_col!r}]" if id_col else repr(time_col)
    where = f" of series {first['unique_id']!r}" if id_col else ""
    several = (
        ""
        if id_col
        else "; if the table holds several series, name their id column with id_col= (--id-col)"
    )
    raise DataValidationError(
        f"duplicate timestamps: {first['ds']}{where} appears in rows {_rows(sorted(rows))}; "
        f"{n_stamps} timestamp(s) repeat; aggregate them first, e.g. "
        f"df.groupby({keys}, as_index=False).mean(){several}"
    )


def check_freq(freq: str) -> str:
    """Normalise a pandas frequency alias, or raise ConfigError."""
    try:
        return to_offset(freq).freqstr
    except (ValueError, TypeError):
        raise ConfigError(
            f"freq={freq!r} is not a pandas frequency alias; use e.g. '30min', 'h', 'D', 'B', "
            "'W', 'MS'"
        ) from None


def series_frequency(ds: pd.Series) -> str | None:
    """Frequency of one sorted series: pd.infer_freq, else calendar checks, else modal step."""
    if len(ds) < 2:
        return None
    index = pd.DatetimeIndex(ds)
    if len(index) >= 3:
        inferred = pd.infer_freq(index)
        if inferred is not None:
            return check_freq(inferred)
    step = pd.Series(index[1:] - index[:-1]).mode().iloc[0]
    if step >= pd.Timedelta(days=28):
        for alias in ("MS", "ME", "QS", "QE", "YS", "YE"):
            if index.isin(pd.date_range(index[0], index[-1], freq=alias)).all():
                return alias
    if step == pd.Timedelta(days=1) and (index.dayofweek < 5).all():
        return "B"
    return check_freq(to_offset(step).freqstr)


def infer_frequency(frame: pd.DataFrame) -> str:
    """One frequency for all series; error when they disagree or none can be inferred."""
    found: dict[str, str] = {}
    for uid, ds in frame.groupby("unique_id", sort=False)["ds"]:
        freq = series_frequency(ds)
        if freq is not None:
            found.setdefault(freq, str(uid))
    if not found:
        raise DataValidationError(
            "cannot infer a frequency: every series has fewer than 2 timestamps; pass freq="
        )
    if len(found) > 1:
        listed = ", ".join(f"{f!r} (series {u!r})" for f, u in found.items())
        raise DataValidationError(
            f"series have different frequencies: {listed}; pass freq= to choose one"
        )
    return next(iter(found))


def _grid(ds: pd.Series, freq: str, uid: str) -> pd.DatetimeIndex:
    first, last = ds.iloc[0], ds.iloc[-1]
    offset = to_offset(freq)
    step = (first + offset) - first
    size = (last - first) / step + 1
    if size > MAX_GRID_FACTOR * len(ds) + 1000:
        spacing = ds.diff().median()
        raise ConfigError(
            f"freq={freq!r} would put about {int(size):,} steps on the grid of series {uid!r}, "
            f"which has {len(ds):,} rows (median spacing {spacing}); check freq"
        )
    return pd.date_range(first, last, freq=offset)


def find_gaps(frame: pd.DataFrame, freq: str, time_col: str) -> list[Gap]:
    """Missing grid steps per series; timestamps off the regular grid are an error."""
    gaps: list[Gap] = []
    off_grid: list[tuple[str, int, pd.Timestamp]] = []
    for uid, ds in frame.groupby("unique_id", sort=False)["ds"]:
        grid = _grid(ds, freq, str(uid))
        pos = grid.get_indexer(pd.DatetimeIndex(ds))
        off = pos < 0
        if off.any():
            rows = ds.index[off]
            off_grid += [(str(uid), int(r), ds.loc[r]) for r in rows]
            continue
        skipped = np.diff(pos) - 1
        for i in np.flatnonzero(skipped > 0):
            gaps.append(Gap(str(uid), ds.iloc[i], int(ds.index[i]), int(skipped[i])))
    if off_grid:
        uid, row, stamp = off_grid[0]
        raise DataValidationError(
            f"irregular spacing: {len(off_grid)} timestamp(s) are not on the regular {freq!r} "
            f"grid (first: series {uid!r}, row {row}: {stamp}); resample to a regular "
            f"frequency first, e.g. df.set_index({time_col!r}).resample({freq!r}).mean(), "
            "or pass the right freq="
        )
    return gaps


def describe_gaps(gaps: list[Gap], freq: str) -> str:
    """An error message listing the first gaps and the fixes."""
    shown = "; ".join(
        f"series {g.series!r} after {g.after} (row {g.row}): {g.missing} step(s) missing"
        for g in gaps[:SHOW]
    )
    more = f"; and {len(gaps) - SHOW} more" if len(gaps) > SHOW else ""
    total = sum(g.missing for g in gaps)
    return (
        f"{len(gaps)} gap(s) on the {freq!r} grid ({total} missing row(s)): {shown}{more}; "
        'pass fill_gaps="interpolate", "ffill" or "zero" to insert and fill them, '
        "or freq= if the frequency is wrong"
    )


def _fill(values: pd.DataFrame, method: str) -> pd.DataFrame:
    if method == "interpolate":
        return values.interpolate(method="linear", limit_direction="both")
    if method == "ffill":
        return values.ffill().bfill()
    if method == "zero":
        return values.fillna(0.0)
    return values.fillna(values.mean())


def fill_gaps(
    frame: pd.DataFrame, freq: str, method: str, value_columns: list[str]
) -> tuple[pd.DataFrame, int]:
    """Insert the missing grid rows of every series and fill only those; return rows added."""
    parts, added = [], 0
    for uid, part in frame.groupby("unique_id", sort=False):
        grid = _grid(part["ds"], freq, str(uid))
        if len(grid) == len(part):
            parts.append(part)
            continue
        full = part.assign(_row=part.index).set_index("ds").reindex(grid)
        new = full["_row"].isna().to_numpy()
        full.loc[new, value_columns] = _fill(full[value_columns], method).loc[new]
        full = full.rename_axis("ds").reset_index()
        full["unique_id"] = uid
        full.index = pd.Index(full.pop("_row").fillna(-1).astype("int64").to_numpy())
        parts.append(full[part.columns])
        added += int(new.sum())
    return pd.concat(parts), added


def check_finite(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """Reject NaN/inf in the value columns (``columns`` maps canonical name -> label)."""
    for name, label in columns.items():
        bad = ~np.isfinite(frame[name].to_numpy())
        if bad.any():
            rows = frame.index[bad]
            raise DataValidationError(
                f"{label} has {int(bad.sum())} NaN/inf value(s) (rows {_rows(rows)}); "
                'pass impute="interpolate", "ffill", "zero" or "mean" to fill them, '
                "or clean the data"
            )


def impute(
    frame: pd.DataFrame, columns: dict[str, str], method: str
) -> tuple[pd.DataFrame, list[str]]:
    """Fill NaN/inf per series with ``method``; return the frame and one note per column."""
    out, notes = frame.copy(), []
    for name, label in columns.items():
        values = out[name].where(np.isfinite(out[name]))
        count = int(values.isna().sum())
        if count == 0:
            continue
        filled = values.groupby(out["unique_id"], sort=False).transform(
            lambda s: _fill(s.to_frame(), method).iloc[:, 0]
        )
        empty = filled.isna()
        if empty.any():
            uid = out.loc[empty, "unique_id"].iloc[0]
            raise DataValidationError(
                f"{label} of series {uid!r} has no finite value to impute from; drop it"
            )
        out[name] = filled
        notes.append(f"imputed {count} NaN/inf value(s) in {label} by {method}")
    return out, notes


def check_min_length(lengths: dict[str, int], min_length: int, reason: str) -> None:
    """Reject series shorter than ``min_length`` rows, saying why that many are needed."""
    short = {uid: n for uid, n in lengths.items() if n < min_length}
    if not short:
        return
    uid, n = next(iter(short.items()))
    need = f"{reason} need" if reason else "need"
    more = f" ({len(short) - 1} more series are too short)" if len(short) > 1 else ""
    raise DataValidationError(
        f"series {uid!r} has {n} rows; {need} at least {min_length} rows{more}"
    )


def check_method(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    """Reject an unknown fill/impute method."""
    if value is not None and value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {list(allowed)}")
