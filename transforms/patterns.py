"""Word lists compiled into matchers that run fast: a trie regex, an Aho–Corasick automaton.

Pure: no I/O. ``re`` tries the branches of ``said|says|stated|…`` one by one at every
position of a text; the same words written as a trie (``s(?:a(?:id|ys)|tated)``) let it
drop a position after a character or two. With the word boundaries the callers put around
it, the trie matches exactly what the plain alternation matches, longest word first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick


def word_alternation(words: Iterable[str]) -> str:
    """A regex (no capturing group) matching any of ``words``, written as a trie."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here
    return _render(trie)


def _render(node: dict[str, dict]) -> str:
    branches = [re.escape(char) + _render(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" not in node:
        return body
    # A word ends here and longer ones go on: try the longer first, as the sorted list did.
    return ("(?:" + body + ")" if len(branches) == 1 else body) + "?"


def is_word_char(char: str) -> bool:
    """Whether ``char`` is what re's ``\\w`` matches: a letter, a digit or "_"."""
    return char.isalnum() or char == "_"


def word_automaton(words: Iterable[str]) -> ahocorasick.Automaton:
    """An Aho–Corasick automaton finding ``words`` anywhere in a text, in one pass in C; each
    match's value is ``(length, word)``. Word boundaries are the caller's to check."""
    automaton = ahocorasick.Automaton()
    for word in set(words):
        automaton.add_word(word, (len(word), word))
    automaton.make_automaton()
    return automaton
