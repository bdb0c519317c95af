"""Rebuild the bundled data files from their upstream packages (a record of provenance).

Not imported by lstmkit. Run it by hand with the three upstream files unpacked::

    pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d /tmp/vader
    pip download --no-deps sktime==1.2.0 -d /tmp/skt      # or aeon: same .ts files
    pip download --no-deps aeon==1.6.0 -d /tmp/aeon
    # unpack them, then
    python make_bundled.py MOVIE_GROUND_TRUTH JV_TRAIN_TS JV_TEST_TS UCR_TRAIN_CSV UCR_TEST_CSV

where MOVIE_GROUND_TRUTH is ``hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt`` from
``additional_resources/hutto_ICWSM_2014.tar.gz`` in the vaderSentiment sdist, JV_*_TS are
``sktime/datasets/data/JapaneseVowels/JapaneseVowels_{TRAIN,TEST}.ts`` and UCR_*_CSV are
``aeon/datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_{TRAIN,TEST}.csv``.
The outputs are byte-for-byte reproducible (gzip without a timestamp, fixed seed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 20140601  # fixed forever: the movie_snippets split must never change
GZIP = {"method": "gzip", "mtime": 0}


def movie_snippets(ground_truth: Path) -> pd.DataFrame:
    """id, rating, text from the tab-separated UTF-8/CRLF file; drop rating == 0; add split."""
    lines = ground_truth.read_bytes().decode("utf-8").split("\r\n")
    rows = [line.split("\t") for line in lines if line]
    assert len(rows) == 10_605 and all(len(r) == 3 for r in rows)
    frame = pd.DataFrame(
        {
            "id": [int(r[0]) for r in rows],
            "rating": [float(r[1]) for r in rows],
            "text": [r[2] for r in rows],
        }
    )
    frame = frame[frame["rating"] != 0].reset_index(drop=True)
    frame["label"] = (frame["rating"] > 0).astype("int64")
    n = len(frame)
    n_train, n_val = round(0.7 * n), round(0.1 * n)
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    split = np.empty(n, dtype=object)
    split[order[:n_train]] = "train"
    split[order[n_train : n_train + n_val]] = "validation"
    split[order[n_train + n_val :]] = "test"
    frame["split"] = split
    return frame


def _read_ts(path: Path, split: str) -> list[tuple[str, int, np.ndarray]]:
    """Cases of an sktime/aeon .ts file: (split, label, array of shape (frames, 12))."""
    cases = []
    in_data = False
    for line in path.read_text(encoding="ascii").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        values = np.array([[float(x) for x in d.split(",")] for d in dims])  # (12, frames)
        assert values.shape[0] == 12
        cases.append((split, int(label), values.T))
    return cases


def japanese_vowels(train_ts: Path, test_ts: Path) -> pd.DataFrame:
    """Long frame: one row per (utterance, frame); utterances 0..269 train, 270..639 test."""
    cases = _read_ts(train_ts, "train") + _read_ts(test_ts, "test")
    parts = []
    for utterance, (split, speaker, values) in enumerate(cases):
        part = pd.DataFrame(values, columns=[f"c{i}" for i in range(1, 13)])
        part.insert(0, "frame", np.arange(len(values)))
        part.insert(0, "speaker", speaker)
        part.insert(0, "split", split)
        part.insert(0, "utterance", utterance)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def ucr_anomaly_135(train_csv: Path, test_csv: Path) -> pd.DataFrame:
    """aeon's TimeEval CSVs stacked: t restarts at 0 in each split, as in aeon."""
    parts = []
    for split, path in (("train", train_csv), ("test", test_csv)):
        part = pd.read_csv(path).rename(columns={"timestamp": "t"})
        part.insert(2, "split", split)
        parts.append(part[["t", "value", "split", "is_anomaly"]])
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str]) -> None:
    movie, jv_train, jv_test, ucr_train, ucr_test = map(Path, argv)
    movie_snippets(movie).to_csv(HERE / "movie_snippets.csv.gz", index=False, compression=GZIP)
    japanese_vowels(jv_train, jv_test).to_csv(
        HERE / "japanese_vowels.csv.gz", index=False, compression=GZIP
    )
    ucr_anomaly_135(ucr_train, ucr_test).to_csv(
        HERE / "ucr_anomaly_135.csv.gz", index=False, compression=GZIP
    )


if __name__ == "__main__":
    main(sys.argv[1:])
