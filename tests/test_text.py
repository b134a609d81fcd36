"""Tiny Shakespeare, character level: the shipped text, its vocabulary, the split and batches."""

import hashlib
import math
import re
import shutil
from fnmatch import fnmatch
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab.text import (
    TINY_SHAKESPEARE_PATH,
    TINY_SHAKESPEARE_SHA256,
    CharCorpus,
    CharVocab,
    load_corpus,
    load_text,
)

#: nanoGPT's shakespeare_char: 1,115,394 characters, these 65, 1,003,854 train and 111,540 val.
NANOGPT_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
N_CHARS = 1_115_394


@pytest.fixture(scope="module")
def text() -> str:
    return load_text()


@pytest.fixture(scope="module")
def corpus() -> CharCorpus:
    return load_corpus()


def _arange_corpus(n_train: int, n_val: int) -> CharCorpus:
    """A corpus whose ids are their own positions, so a window shows where it starts."""
    data = torch.arange(n_train + n_val)
    return CharCorpus(CharVocab("ab"), data[:n_train], data[n_train:])


# ------------------------------------------------------------------------------ the text
def test_the_shipped_file_is_tiny_shakespeare(text):
    raw = TINY_SHAKESPEARE_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == TINY_SHAKESPEARE_SHA256
    assert len(raw) == len(text) == N_CHARS
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert load_text(TINY_SHAKESPEARE_PATH) == text


def test_the_package_ships_the_text():
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]
    rel = TINY_SHAKESPEARE_PATH.relative_to(TINY_SHAKESPEARE_PATH.parents[1]).as_posix()
    assert any(fnmatch(rel, p) for p in patterns["hyena_lab"]), (rel, patterns)


def test_an_unmodified_copy_is_accepted(tmp_path, text):
    copy = tmp_path / "input.txt"
    shutil.copyfile(TINY_SHAKESPEARE_PATH, copy)
    assert load_text(copy) == text
    assert load_text(str(copy)) == text


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: raw[:100] + b"X" + raw[101:],  # one character edited
        lambda raw: raw.replace(b"\n", b"\r\n"),  # Windows line ends
        lambda raw: b"",  # empty
    ],
    ids=["truncated", "edited", "crlf", "empty"],
)
def test_a_modified_copy_is_refused(tmp_path, change):
    bad = change(TINY_SHAKESPEARE_PATH.read_bytes())
    path = tmp_path / "input.txt"
    path.write_bytes(bad)
    found = hashlib.sha256(bad).hexdigest()
    with pytest.raises(ValueError) as err:
        load_text(path)
    msg = str(err.value)
    assert str(path) in msg
    assert f"expected sha256 {TINY_SHAKESPEARE_SHA256}, found {found}" in msg
    with pytest.raises(ValueError, match=found):
        load_corpus(path=path)


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere" / "input.txt"
    with pytest.raises(FileNotFoundError, match=re.escape(f"Tiny Shakespeare not found at {path}")):
        load_text(path)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
        load_text(tmp_path)  # a folder is not the file


# ------------------------------------------------------------------------------ vocabulary
def test_vocabulary_is_nanogpts_65_characters(corpus, text):
    assert corpus.vocab.size == 65
    assert corpus.vocab.chars == NANOGPT_CHARS == "".join(sorted(set(text)))
    assert corpus.vocab == CharVocab.from_text(text) == CharVocab(NANOGPT_CHARS)
    assert hash(corpus.vocab) == hash(CharVocab(NANOGPT_CHARS))


def test_encode_decode_round_trip_on_the_whole_text(corpus, text):
    ids = corpus.vocab.encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (N_CHARS,)
    assert int(ids.min()) == 0 and int(ids.max()) == 64
    assert corpus.vocab.decode(ids) == text
    assert corpus.vocab.encode("").shape == (0,)
    assert corpus.vocab.decode([]) == corpus.vocab.decode(torch.zeros(0, dtype=torch.int32)) == ""


@given(st.text(min_size=1, max_size=60))
def test_round_trip_on_any_text(s):
    vocab = CharVocab.from_text(s)
    ids = vocab.encode(s)
    assert vocab.decode(ids) == vocab.decode(ids.tolist()) == s
    assert vocab.size == len(set(s))
    assert [vocab.chars[i] for i in ids.tolist()] == list(s)


def test_ids_follow_the_sorted_characters(corpus):
    vocab = corpus.vocab
    assert vocab.encode("\n A a").tolist() == [0, 1, 13, 1, 39]
    assert vocab.decode(torch.tensor([20, 43, 50, 50, 53], dtype=torch.uint8)) == "Hello"


def test_encode_names_the_first_unknown_character(corpus):
    with pytest.raises(ValueError, match=r"character 'é' at position 3 is not in the vocabulary "
                                         r"of 65 characters"):
        corpus.vocab.encode("Romé{o}")
    with pytest.raises(ValueError, match=r"character '\{' at position 0"):
        corpus.vocab.encode("{é")


@pytest.mark.parametrize(
    ("ids", "error", "match"),
    [
        (torch.tensor([0, 64, 65]), ValueError, r"id 65 at position 2 is outside the vocabulary "
                                                r"\[0, 65\)"),
        ([3, -1, 99], ValueError, r"id -1 at position 1 is outside the vocabulary \[0, 65\)"),
        (torch.tensor([1.0, 2.0]), TypeError, "ids must be an integer tensor, got dtype "
                                              "torch.float32"),
        (torch.tensor([True]), TypeError, "got dtype torch.bool"),
        ([1, 2.5], TypeError, "ids must be a sequence of ints: 'float' object"),
        ([[1, 2]], TypeError, "ids must be a sequence of ints: 'list' object"),
        (torch.zeros(2, 3, dtype=torch.long), ValueError, r"ids must have shape \(n,\) .* got "
                                                          r"shape \(2, 3\)"),
    ],
    ids=["too-large", "negative", "float", "bool", "float-in-list", "nested", "2-d"],
)
def test_decode_refuses_what_is_not_an_id(corpus, ids, error, match):
    with pytest.raises(error, match=match):
        corpus.vocab.decode(ids)


@pytest.mark.parametrize("chars", ["", "ba", "aab"])
def test_a_vocabulary_is_sorted_and_without_repeats(chars):
    with pytest.raises(ValueError, match="must be non-empty, sorted and without repeats"):
        CharVocab(chars)


# ------------------------------------------------------------------------------ the split
def test_split_is_nanogpts_first_90_percent(corpus, text):
    n = len(text)
    assert len(corpus.train) == int(0.9 * n) == 1_003_854
    assert len(corpus.val) == n - int(0.9 * n) == 111_540
    assert corpus.train.dtype == corpus.val.dtype == torch.int64
    assert torch.equal(torch.cat([corpus.train, corpus.val]), corpus.vocab.encode(text))
    assert corpus.vocab.decode(corpus.val[:20]) == text[int(0.9 * n) :][:20]


@given(st.text(alphabet="abcxyz\n ", min_size=2, max_size=300), st.floats(0.01, 0.99))
def test_split_sizes_for_any_fraction(s, val_fraction):
    n_train = int(len(s) * (1 - val_fraction))
    if not 0 < n_train < len(s):
        with pytest.raises(ValueError, match="leaves an empty split"):
            CharCorpus.from_text(s, val_fraction)
        return
    c = CharCorpus.from_text(s, val_fraction)
    assert len(c.train) == n_train and len(c.val) == len(s) - n_train
    assert c.vocab.decode(c.train) + c.vocab.decode(c.val) == s


@pytest.mark.parametrize(
    ("val_fraction", "error", "match"),
    [
        (0, ValueError, "val_fraction must be finite and > 0, got 0"),
        (-0.1, ValueError, "val_fraction must be finite and > 0"),
        (math.nan, ValueError, "val_fraction must be finite and > 0"),
        (1, ValueError, "val_fraction must be < 1, got 1"),
        (1.5, ValueError, "val_fraction must be < 1, got 1.5"),
        (True, TypeError, "val_fraction must be a number, got True"),
        ("0.1", TypeError, "val_fraction must be a number, got '0.1'"),
    ],
)
def test_val_fraction_errors(val_fraction, error, match):
    with pytest.raises(error, match=match):
        CharCorpus.from_text("to be or not to be", val_fraction)


def test_a_split_left_empty_is_refused():
    with pytest.raises(ValueError, match=r"val_fraction=0.5 of a text of 1 characters leaves an "
                                         r"empty split \(train 0, val 1\)"):
        CharCorpus.from_text("a", 0.5)
    with pytest.raises(ValueError, match=r"text of 4 characters leaves an empty split "
                                         r"\(train 4, val 0\)"):
        CharCorpus.from_text("abcd", 1e-20)  # 1 - 1e-20 rounds to 1


# ------------------------------------------------------------------------------ batches
@given(
    st.integers(2, 300),
    st.integers(1, 8),
    st.data(),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["train", "val"]),
)
def test_batches_are_windows_and_their_next_characters(n, batch_size, data, seed, split):
    """With ids equal to positions, a window starting at s is s, s+1, ...; y is x + 1."""
    c = _arange_corpus(n, n)
    block_size = data.draw(st.integers(1, n - 1))
    g = torch.Generator().manual_seed(seed)
    x, y = c.get_batch(split, batch_size, block_size, g)
    assert x.shape == y.shape == (batch_size, block_size)
    assert x.dtype == y.dtype == torch.int64
    first = 0 if split == "train" else n  # val windows lie in the last part
    start = x[:, :1]
    assert torch.equal(x, start + torch.arange(block_size))  # contiguous windows of the split
    assert torch.equal(y, x + 1)  # the next character
    assert (start >= first).all() and (start + block_size < first + n).all()  # y stays inside


def test_the_longest_window_is_the_whole_split():
    c = _arange_corpus(10, 5)
    x, y = c.get_batch("val", 3, 4, torch.Generator().manual_seed(0))
    assert x.tolist() == [[10, 11, 12, 13]] * 3 and y.tolist() == [[11, 12, 13, 14]] * 3


def test_every_offset_is_drawn():
    c = _arange_corpus(12, 2)
    x, _ = c.get_batch("train", 2000, 4, torch.Generator().manual_seed(0))
    assert sorted(set(x[:, 0].tolist())) == list(range(12 - 4))


def test_batches_on_shakespeare(corpus, text):
    x, y = corpus.get_batch("train", 4, 64, torch.Generator().manual_seed(1))
    assert torch.equal(x[:, 1:], y[:, :-1])
    for b in range(4):
        window = corpus.vocab.decode(x[b]) + corpus.vocab.decode(y[b, -1:])
        assert window in text[: len(corpus.train)]


def test_batches_are_deterministic_per_seed(corpus):
    def batch(seed, split="train"):
        return corpus.get_batch(split, 8, 32, torch.Generator().manual_seed(seed))

    for split in ("train", "val"):
        (x1, y1), (x2, y2) = batch(0, split), batch(0, split)
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(batch(0)[0], batch(1)[0])
    g = torch.Generator().manual_seed(0)
    first, second = corpus.get_batch("train", 8, 32, g), corpus.get_batch("train", 8, 32, g)
    assert not torch.equal(first[0], second[0])  # the generator advances
    assert torch.equal(first[0], batch(0)[0])


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("test", 4, 8), ValueError, "split must be 'train' or 'val', got 'test'"),
        (("train", 0, 8), ValueError, "batch_size must be >= 1, got 0"),
        (("train", 4, 0), ValueError, "block_size must be >= 1, got 0"),
        (("train", 4, -3), ValueError, "block_size must be >= 1, got -3"),
        (("train", 2.0, 8), TypeError, "batch_size must be an int >= 1, got 2.0"),
        (("train", 4, True), TypeError, "block_size must be an int >= 1, got True"),
        (("val", 4, 111_540), ValueError, r"block_size=111540 must be smaller than the 'val' "
                                          r"split \(111540 characters\)"),
        (("train", 4, 2_000_000), ValueError, r"the 'train' split \(1003854 characters\)"),
    ],
)
def test_get_batch_errors(corpus, args, error, match):
    with pytest.raises(error, match=match):
        corpus.get_batch(*args, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("generator", [None, 0])
def test_get_batch_needs_a_generator(corpus, generator):
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator \(e.g. "
                                        r"torch.Generator\(\).manual_seed\(0\)\), got"):
        corpus.get_batch("train", 4, 8, generator)
