"""Tokenizer, vocabulary, padding and length bucketing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from lstmkit.data.sequences import (
    BucketBatchSampler,
    PaddedSequenceDataset,
    check_sequences,
    frames_from_long,
    pad_sequences,
    padding_fraction,
)
from lstmkit.data.text import PAD_ID, UNK_ID, Vocabulary, tokenize
from lstmkit.errors import ConfigError, DataValidationError

# -- tokenizer ------------------------------------------------------------------------------


def test_tokenize_lowercases_splits_punctuation_and_keeps_negation() -> None:
    assert tokenize("Don't like it, NOT good!") == [
        "do", "n't", "like", "it", ",", "not", "good", "!"
    ]
    assert tokenize("It\u2019s never bad.") == ["it", "'s", "never", "bad", "."]
    assert tokenize("No, it isn't...", punctuation="drop") == ["no", "it", "is", "n't"]
    assert tokenize("Good", lowercase=False) == ["Good"]


def test_tokenize_rejects_unknown_punctuation_mode() -> None:
    with pytest.raises(ConfigError, match="punctuation"):
        tokenize("x", punctuation="keep")


# -- vocabulary -----------------------------------------------------------------------------


def test_vocabulary_is_built_from_the_training_texts_only() -> None:
    train = ["good movie", "bad movie", "movie"]
    vocab = Vocabulary().fit(train)
    assert vocab.tokens[:2] == ["<pad>", "<unk>"] and vocab.index["<pad>"] == PAD_ID
    assert vocab.tokens[2] == "movie"  # most frequent first, then alphabetical
    assert vocab.tokens[3:] == ["bad", "good"]
    (ids,) = vocab.encode(["great good movie"])  # "great" never seen in training
    assert ids.tolist() == [UNK_ID, vocab.index["good"], vocab.index["movie"]]
    assert "great" not in vocab
    assert vocab.unknown_rate(["great good movie"]) == pytest.approx(1 / 3)


def test_min_freq_and_max_size() -> None:
    train = ["a a a b b c", "a b d"]
    assert Vocabulary(min_freq=2).fit(train).tokens == ["<pad>", "<unk>", "a", "b"]
    assert Vocabulary(max_size=3).fit(train).tokens == ["<pad>", "<unk>", "a"]
    vocab = Vocabulary(min_freq=2).fit(train)
    assert vocab.encode(["c d"])[0].tolist() == [UNK_ID, UNK_ID]  # all unknown: UNK each


def test_empty_text_becomes_one_unk_and_truncation_keeps_first_or_last_tokens() -> None:
    vocab = Vocabulary(max_length=2).fit(["a b c d"])
    empty, long = vocab.encode(["", "a b c d"])
    assert empty.tolist() == [UNK_ID]
    assert vocab.decode(long) == ["a", "b"]
    tail = Vocabulary(max_length=2, truncation="start").fit(["a b c d"])
    assert tail.decode(tail.encode(["a b c d"])[0]) == ["c", "d"]
    dropped = Vocabulary(punctuation="drop").fit(["a"])
    assert dropped.encode(["?!"])[0].tolist() == [UNK_ID]


def test_vocabulary_state_round_trips_through_json() -> None:
    import json

    vocab = Vocabulary(min_freq=1, max_length=5, punctuation="drop").fit(["Not bad, really."])
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again.tokens == vocab.tokens and again.max_length == 5
    texts = ["not bad", "really, REALLY bad"]
    assert [a.tolist() for a in again.encode(texts)] == [a.tolist() for a in vocab.encode(texts)]


def test_vocabulary_errors_name_the_text_and_setting() -> None:
    with pytest.raises(DataValidationError, match="text 1 is nan"):
        Vocabulary().fit(["ok", float("nan")])
    with pytest.raises(ConfigError, match="not fitted"):
        Vocabulary().encode(["x"])
    with pytest.raises(ConfigError, match="truncation"):
        Vocabulary(truncation="middle")
    with pytest.raises(ConfigError, match="min_freq"):
        Vocabulary(min_freq=0)


# -- padding and bucketing ------------------------------------------------------------------


def test_pad_sequences_ids_and_frames() -> None:
    batch, lengths = pad_sequences([np.array([3, 4, 5]), np.array([6])])
    assert batch.tolist() == [[3, 4, 5], [6, 0, 0]] and lengths.tolist() == [3, 1]
    frames = [np.ones((2, 3)), np.full((4, 3), 2.0)]
    batch, lengths = pad_sequences(frames, padding_value=-1.0)
    assert batch.shape == (2, 4, 3) and lengths.tolist() == [2, 4]
    assert (batch[0, 2:] == -1).all() and (batch[1] == 2).all()


def test_check_sequences_names_the_bad_sequence() -> None:
    with pytest.raises(DataValidationError, match="sequence 1 has 2 features"):
        check_sequences([np.zeros((3, 3)), np.zeros((2, 2))])
    bad = np.zeros((4, 2))
    bad[2, 1] = np.nan
    with pytest.raises(DataValidationError, match="sequence 1 has nan at frame 2, feature 1"):
        check_sequences([np.zeros((3, 2)), bad])
    with pytest.raises(DataValidationError, match="sequence 0 is empty"):
        check_sequences([np.zeros((0, 2))])
    with pytest.raises(DataValidationError, match="model was fitted on 5"):
        check_sequences([np.zeros((3, 2))], n_features=5)
    assert check_sequences([[1.0, 2.0]])[0].shape == (2, 1)  # 1-D: one feature


def test_bucketing_wastes_far_less_padding_than_random_batches() -> None:
    lengths = np.random.default_rng(0).integers(1, 200, size=2000)
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=0)
    batches = list(sampler)
    assert sorted(np.concatenate(batches).tolist()) == list(range(2000))  # each index once
    assert len(batches) == len(sampler) == 63
    random_batches = np.array_split(np.random.default_rng(1).permutation(2000), 63)
    bucketed, random = padding_fraction(lengths, batches), padding_fraction(lengths, random_batches)
    assert bucketed < 0.05 < 0.4 < random
    assert list(map(list, BucketBatchSampler(lengths, 32, seed=0))) == list(map(list, batches))
    assert [list(b) for b in sampler] != [list(b) for b in batches]  # next epoch: new order
    ordered = list(BucketBatchSampler(lengths, 32, shuffle=False))
    assert padding_fraction(lengths, ordered) <= bucketed


def test_padded_dataset_serves_whole_batches_through_a_dataloader() -> None:
    seqs = [np.arange(1, n + 1) for n in (5, 2, 3, 1)]
    data = PaddedSequenceDataset(seqs, np.array([0, 1, 0, 1]))
    loader = DataLoader(data, batch_sampler=BucketBatchSampler(data.lengths, 2, shuffle=False),
                        collate_fn=data.collate_fn)
    x, lengths, target = next(iter(loader))
    assert x.dtype == torch.int64 and x.tolist() == [[1, 0], [1, 2]]
    assert lengths.tolist() == [1, 2] and target.tolist() == [1, 1]
    frames = PaddedSequenceDataset([np.ones((3, 2)), np.ones((1, 2))])
    x, lengths, target = frames.__getitems__([0, 1])
    assert x.dtype == torch.float32 and x.shape == (2, 3, 2) and target.tolist() == [0, 0]


def test_frames_from_long_orders_frames_and_takes_one_label_per_id() -> None:
    frame = pd.DataFrame({
        "utt": [7, 7, 3, 7, 3], "t": [2, 0, 1, 1, 0], "c1": [3.0, 1.0, 20.0, 2.0, 10.0],
        "c2": [30.0, 10.0, 200.0, 20.0, 100.0], "who": ["a", "a", "b", "a", "b"],
    })
    seqs, ids, labels = frames_from_long(frame, "utt", "t", label_col="who")
    assert ids.tolist() == [7, 3] and labels.tolist() == ["a", "b"]
    assert seqs[0].tolist() == [[1, 10], [2, 20], [3, 30]] and seqs[1][:, 0].tolist() == [10, 20]
    frame.loc[0, "who"] = "b"
    with pytest.raises(DataValidationError, match="utt=7 has 2 different 'who' values"):
        frames_from_long(frame, "utt", "t", label_col="who")
    with pytest.raises(DataValidationError, match="frame_col='time' is not a column"):
        frames_from_long(frame, "utt", "time")
    frame.loc[1, "t"] = 2
    with pytest.raises(DataValidationError, match="has t=2 twice"):
        frames_from_long(frame, "utt", "t")
