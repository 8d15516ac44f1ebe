"""Tokenizers: round trips, unknown characters, BPE merges, save and load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch.gpt import (
    BPETokenizer,
    CharTokenizer,
    UnknownCharacterError,
    load_tokenizer,
    tinytorch_corpus,
)

ALPHABET = "abcdefghij KLMNOP.,;!?\n'é"


@pytest.fixture(scope="module")
def char_tok():
    return CharTokenizer().fit(ALPHABET)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=200))
def test_char_round_trip_of_any_string_of_its_alphabet(text):
    tok = CharTokenizer().fit(ALPHABET)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


def test_char_vocabulary_is_sorted_and_order_independent():
    a = CharTokenizer().fit("banana")
    b = CharTokenizer().fit("nabana")
    assert a.chars == b.chars == ["a", "b", "n"]
    assert a.encode("nab") == [2, 0, 1]


def test_char_unknown_character_is_a_clear_error(char_tok):
    with pytest.raises(UnknownCharacterError) as info:
        char_tok.encode("abcZ")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.char == "Z" and err.position == 3
    assert "'Z'" in str(err) and "position 3" in str(err) and "unk_token" in str(err)


def test_char_unknown_token_maps_unknowns_to_one_documented_id():
    tok = CharTokenizer(unk_token="\ufffd").fit("abc")
    assert tok.vocab_size == 4 and tok.unk_id == tok.stoi["\ufffd"]
    ids = tok.encode("aXbY")
    assert ids == [tok.stoi["a"], tok.unk_id, tok.stoi["b"], tok.unk_id]
    assert tok.decode(ids) == "a\ufffdb\ufffd"


def test_char_decode_rejects_ids_outside_the_vocabulary(char_tok):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        char_tok.decode([0, char_tok.vocab_size])
    with pytest.raises(ValueError, match="outside"):
        char_tok.decode([-1])


def test_char_errors_before_fit_and_on_bad_arguments():
    with pytest.raises(ValueError, match="not fitted"):
        CharTokenizer().encode("a")
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer().fit("")
    with pytest.raises(ValueError, match="one character"):
        CharTokenizer(unk_token="<unk>")
    with pytest.raises(ValueError, match="twice"):
        CharTokenizer(chars=["a", "a"])


def test_char_save_load(tmp_path, char_tok):
    path = char_tok.save(tmp_path / "tok.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "char" and data["chars"] == char_tok.chars
    back = CharTokenizer.load(path)
    assert back.chars == char_tok.chars
    assert back.encode("hi KLM") == char_tok.encode("hi KLM")
    assert type(load_tokenizer(path)) is CharTokenizer
    with pytest.raises(ValueError, match="not a 'bpe'"):
        BPETokenizer.load(path)


def test_char_decode_accepts_arrays_and_tensors(char_tok):
    import tinytorch.tensor as tt

    ids = char_tok.encode("abc")
    assert char_tok.decode(np.array(ids)) == "abc"
    assert char_tok.decode(tt.tensor([ids])) == "abc"


# ----------------------------------------------------------------------------- BPE


@pytest.fixture(scope="module")
def bpe():
    return BPETokenizer.train(tinytorch_corpus()[:30_000], vocab_size=400)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_bpe_round_trips_any_string(text):
    tok = _BPE
    assert tok.decode(tok.encode(text)) == text


_BPE = BPETokenizer.train("the cat sat on the mat; the rat ate the hat. " * 30, vocab_size=300)


def test_bpe_learns_merges_that_shorten_text(bpe):
    assert bpe.vocab_size == 400 and len(bpe.merges) == 144
    text = tinytorch_corpus()[30_000:32_000]  # held out
    ids = bpe.encode(text)
    assert len(ids) < 0.6 * len(text.encode("utf-8"))
    assert bpe.decode(ids) == text
    # Every id is a byte string; the first merges are frequent English pairs.
    assert all(isinstance(bpe.token_bytes(i), bytes) for i in range(bpe.vocab_size))
    assert bpe.token_bytes(256) in {
        b" t",
        b"e ",
        b"th",
        b"in",
        b"he",
        b" a",
        b"re",
        b"s ",
        b"on",
        b"er",
        b"an",
        b"en",
        b"ti",
    }


def test_bpe_first_merge_is_the_most_frequent_pair():
    tok = BPETokenizer.train("abababab cd", vocab_size=257, pattern=None)
    assert tok.merges == [(ord("a"), ord("b"))]
    assert tok.encode("abab") == [256, 256]


def test_bpe_overlapping_pairs_merge_left_to_right():
    tok = BPETokenizer([(97, 97)], pattern=None)
    assert tok.encode("aaa") == [256, 97]
    assert tok.encode("aaaa") == [256, 256]
    assert tok.decode(tok.encode("aaaaa")) == "aaaaa"


def test_bpe_merges_do_not_cross_chunks():
    tok = BPETokenizer.train("a b a b a b a b", vocab_size=300)
    for i in range(256, tok.vocab_size):
        # " b" (space + letter) may merge; "a " (letter + space) would cross a word boundary
        assert not tok.token_bytes(i).endswith(b" ")


def test_bpe_encoding_matches_the_training_tokenization():
    text = "low lower lowest newer newest wider widest " * 10
    tok = BPETokenizer.train(text, vocab_size=290)
    again = BPETokenizer(tok.merges)
    assert again.encode(text) == tok.encode(text)


def test_bpe_save_load_and_errors(tmp_path, bpe):
    path = bpe.save(tmp_path / "bpe.json")
    back = load_tokenizer(path)
    assert isinstance(back, BPETokenizer) and back.merges == bpe.merges
    text = "Every package ships a README."
    assert back.encode(text) == bpe.encode(text)
    with pytest.raises(ValueError, match=">= 256"):
        BPETokenizer.train("abc", vocab_size=100)
    with pytest.raises(ValueError, match="outside"):
        bpe.decode([bpe.vocab_size])
    with pytest.raises(ValueError, match="outside"):
        BPETokenizer([(0, 300)])
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(ValueError, match="not a tinytorch-gpt-tokenizer"):
        load_tokenizer(tmp_path / "junk.json")


def test_bpe_decode_of_a_cut_multibyte_character_is_replacement():
    tok = BPETokenizer(pattern=None)
    ids = tok.encode("é")  # two bytes
    assert len(ids) == 2
    assert tok.decode(ids[:1]) == "\ufffd"
