"""Module 16, task tokenizer: CharTokenizer's sorted vocabulary, encode (unknowns), decode."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.gpt import CharTokenizer, UnknownCharacterError


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


TEXT = "to be, or not to be: that is the question."


def test_vocabulary_is_the_sorted_distinct_characters():
    tok = CharTokenizer().fit(TEXT)
    assert tok.chars == sorted(set(TEXT))
    assert tok.vocab_size == len(set(TEXT)) == 16
    assert tok.stoi[" "] == 0 and tok.stoi["."] == 2 and tok.stoi["t"] == 14
    # the ids do not depend on the order in which the text lists its characters
    assert CharTokenizer().fit("cab").chars == CharTokenizer().fit("abc").chars == ["a", "b", "c"]


def test_encode_gives_the_ids_and_decode_inverts_it():
    tok = CharTokenizer().fit("hello world")
    assert tok.encode("hello") == [3, 2, 4, 4, 5]
    assert tok.encode("") == []
    ids = tok.encode("world hello")
    assert all(isinstance(i, int) for i in ids)
    assert tok.decode(ids) == "world hello"
    # decode takes lists, arrays and Tensors
    assert tok.decode(np.array([[7, 5], [6, 1]])) == "word"
    assert tok.decode(tt.tensor([3, 2])) == "he"
    big = CharTokenizer().fit(TEXT)
    assert big.decode(big.encode(TEXT)) == TEXT


def test_decode_rejects_ids_outside_the_vocabulary():
    tok = CharTokenizer().fit("abc")
    assert tok.decode([2, 1, 0]) == "cba"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([-1])


def test_unknown_character_is_an_error_naming_it_and_its_position():
    tok = CharTokenizer().fit("abc")
    with pytest.raises(UnknownCharacterError) as err:
        tok.encode("abcabz")
    assert err.value.char == "z" and err.value.position == 5
    assert "position 5" in str(err.value)
    with pytest.raises(UnknownCharacterError) as err:
        tok.encode("Abc")
    assert err.value.char == "A" and err.value.position == 0


def test_unknown_characters_map_to_the_unk_token():
    tok = CharTokenizer(unk_token="?").fit("hello")
    assert tok.chars == ["?", "e", "h", "l", "o"]
    assert tok.unk_id == 0
    assert tok.encode("help!") == [2, 1, 3, 0, 0]
    assert tok.decode(tok.encode("help!")) == "hel??"
    # a vocabulary given up front gets the unk token appended
    given = CharTokenizer(chars="ba", unk_token="_")
    assert given.chars == ["b", "a", "_"] and given.encode("abc") == [1, 0, 2]
