"""core.text: what no database stores (NUL, a lone surrogate) is found anywhere in a parsed body."""

from __future__ import annotations

import json

import pytest

from inspect_api.core.text import holds_unstorable_text, unstorable_text


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "尾\udfff", "\ude00\ud83d"], ids=["nul", "high", "low", "reversed"])
def test_nul_and_lone_surrogates_are_found_in_values_and_keys(text):
    assert holds_unstorable_text(text)
    assert holds_unstorable_text({"visits": [{"notes": "ok", "responses": [{"note": text}]}]})
    assert holds_unstorable_text([{text: 1}])


@pytest.mark.parametrize("value", ["笑😀脸", json.loads('"\\ud83d\\ude00"'), "\\u0000 spelled out", 0, None, True,
                                   {"k": [1.5, "是"]}], ids=["emoji", "escaped-pair", "backslash", "int", "none",
                                                            "bool", "nested"])
def test_storable_text_and_other_values_pass(value):
    assert not holds_unstorable_text(value)


def test_nesting_deeper_than_recursion_allows_is_walked():
    deep = "\x00"
    for _ in range(10_000):
        deep = [deep]
    assert holds_unstorable_text(deep)


def test_the_error_says_where():
    err = unstorable_text("json", id="v-1")
    assert (err.status, err.code, err.details) == (422, "invalid_character", {"location": "json", "id": "v-1"})
