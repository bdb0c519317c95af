"""Text to token ids: a small word tokenizer and a vocabulary fitted on the training texts.

Tokenizer (`tokenize`): lower-cases (optional), turns curly apostrophes into straight ones and
splits a text into words, clitics and punctuation marks, Penn-Treebank style:

    "Don't like it, NOT good!"  ->  ["do", "n't", "like", "it", ",", "not", "good", "!"]

Negation survives tokenization: "not", "no", "never" are ordinary words (nothing is dropped
as a stop word) and "n't" is a token of its own. With ``punctuation="drop"`` punctuation marks
are removed instead of becoming tokens.

Vocabulary (`Vocabulary`): id 0 is padding (PAD), id 1 unknown (UNK); the other tokens are
numbered by decreasing training frequency (ties alphabetically), keeping those seen at least
`min_freq` times and at most `max_size` entries in all (PAD and UNK included). Fit it on the
training split only: words that appear only in validation or test data then map to UNK, as
they would for new texts. `encode` maps
- a text longer than `max_length` tokens to its first `max_length` tokens
  (``truncation="end"``, the default, cuts the end) or its last ones (``truncation="start"``);
- an empty text (or one with no token left, e.g. only punctuation with ``punctuation="drop"``)
  to a single UNK token, so every sequence has at least one step;
- unknown words to UNK (a text of unknown words only becomes a run of UNK ids).
The fitted state is plain JSON (`to_dict` / `from_dict`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lstmkit.errors import ConfigError, DataValidationError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
PUNCTUATION_MODES = ("split", "drop")
TRUNCATION_MODES = ("end", "start")

# Order matters: a word stem before "n't" ("do" in "don't"), "n't" itself, clitics ("'s",
# "'re"), words (letters, digits, underscore), then any other single non-space character.
_TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'\w+|\w+|[^\w\s]")
_PUNCT = re.compile(r"[^\w\s']|^'$")


def tokenize(text: str, lowercase: bool = True, punctuation: str = "split") -> list[str]:
    """Split one text into word, clitic ("n't", "'s") and punctuation tokens."""
    if punctuation not in PUNCTUATION_MODES:
        raise ConfigError(f"punctuation must be one of {PUNCTUATION_MODES}, got {punctuation!r}")
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    if lowercase:
        text = text.lower()
    tokens = _TOKEN.findall(text)
    if punctuation == "drop":
        tokens = [t for t in tokens if not _PUNCT.match(t)]
    return tokens


class Vocabulary:
    """Token <-> id mapping fitted on training texts; see the module docstring for the rules."""

    def __init__(
        self,
        min_freq: int = 1,
        max_size: int | None = None,
        max_length: int | None = None,
        truncation: str = "end",
        lowercase: bool = True,
        punctuation: str = "split",
    ) -> None:
        _check_int("min_freq", min_freq, 1)
        if max_size is not None:
            _check_int("max_size", max_size, 3)
        if max_length is not None:
            _check_int("max_length", max_length, 1)
        if truncation not in TRUNCATION_MODES:
            raise ConfigError(
                f"truncation must be 'end' (keep the first max_length tokens) or 'start' (keep "
                f"the last ones), got {truncation!r}"
            )
        if punctuation not in PUNCTUATION_MODES:
            raise ConfigError(
                f"punctuation must be one of {PUNCTUATION_MODES}, got {punctuation!r}"
            )
        self.min_freq = min_freq
        self.max_size = max_size
        self.max_length = max_length
        self.truncation = truncation
        self.lowercase = bool(lowercase)
        self.punctuation = punctuation
        self.tokens: list[str] = [PAD, UNK]
        self.index: dict[str, int] = {PAD: PAD_ID, UNK: UNK_ID}
        self.fitted = False

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def tokenize(self, text: str) -> list[str]:
        """`tokenize` with this vocabulary's settings."""
        return tokenize(text, self.lowercase, self.punctuation)

    def fit(self, texts: Iterable[Any]) -> Vocabulary:
        """Count tokens in `texts` (the training split) and number the kept ones; returns self."""
        counts: Counter[str] = Counter()
        n = 0
        for i, text in enumerate(texts):
            counts.update(self.tokenize(_as_text(text, i)))
            n += 1
        if n == 0:
            raise DataValidationError("cannot fit a vocabulary on no texts; pass training texts")
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = sorted(
            (t for t, c in counts.items() if c >= self.min_freq), key=lambda t: (-counts[t], t)
        )
        if self.max_size is not None:
            kept = kept[: self.max_size - 2]
        self.tokens = [PAD, UNK, *kept]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.counts = {t: counts[t] for t in kept}
        self.fitted = True
        return self

    def encode(self, texts: Iterable[Any]) -> list[np.ndarray]:
        """One int64 id array per text (at least one id each; see the module docstring)."""
        if not self.fitted:
            raise ConfigError("this Vocabulary is not fitted; call fit(train_texts) first")
        out = []
        for i, text in enumerate(texts):
            tokens = self.tokenize(_as_text(text, i))
            if self.max_length is not None and len(tokens) > self.max_length:
                cut = self.max_length
                tokens = tokens[:cut] if self.truncation == "end" else tokens[-cut:]
            ids = [self.index.get(t, UNK_ID) for t in tokens] or [UNK_ID]
            out.append(np.asarray(ids, dtype=np.int64))
        return out

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Tokens of an id sequence (padding ids are skipped)."""
        return [self.tokens[int(i)] for i in ids if int(i) != PAD_ID]

    def unknown_rate(self, texts: Iterable[Any]) -> float:
        """Fraction of tokens in `texts` that map to UNK (before truncation)."""
        total = unknown = 0
        for i, text in enumerate(texts):
            tokens = self.tokenize(_as_text(text, i))
            total += len(tokens)
            unknown += sum(t not in self.index for t in tokens)
        return unknown / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON state: settings and the token list (ids are positions)."""
        return {
            "min_freq": self.min_freq,
            "max_size": self.max_size,
            "max_length": self.max_length,
            "truncation": self.truncation,
            "lowercase": self.lowercase,
            "punctuation": self.punctuation,
            "tokens": list(self.tokens) if self.fitted else None,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Vocabulary:
        """Inverse of `to_dict`."""
        state = dict(state)
        tokens = state.pop("tokens")
        vocab = cls(**state)
        if tokens is not None:
            if tokens[:2] != [PAD, UNK] or len(set(tokens)) != len(tokens):
                raise DataValidationError(
                    f"a vocabulary's tokens must start with {PAD!r}, {UNK!r} and be unique; "
                    "the saved state was edited - re-save the model"
                )
            vocab.tokens = list(tokens)
            vocab.index = {t: i for i, t in enumerate(tokens)}
            vocab.fitted = True
        return vocab


def _as_text(text: Any, i: int) -> str:
    if isinstance(text, str):
        return text
    raise DataValidationError(
        f"text {i} is {text!r} ({type(text).__name__}), not a string; fill or drop missing "
        "texts (e.g. df[col].fillna('')) before encoding"
    )


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
