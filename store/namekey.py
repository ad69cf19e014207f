"""The name key: how a customer's name is found again despite one typo.

Each word of a customer's search name (store.normalize.fold: only [a-z0-9 ]) is stored in
customer_name_keys (store.models.CustomerNameKey) with every variant of it missing one letter
("dupont" -> dupont, upont, dpont, ..., dupon). Two words within one typo of each other (a letter
replaced, added, dropped, or two letters swapped) share at least one such key, so the keys of a typed
word find every name within one typo of it through the table's primary-key index.

This module is the rule's one home in application code: `stored_keys` is what the database keeps for
a name, `typed_keys` what a typed word is looked up by. The table is kept by database triggers (so every
writer and every process is covered): SQL in revision 0002 (SQLite), PL/pgSQL in revision 0003
(PostgreSQL). Those migrations hold frozen copies of the rule in SQL, as a migration must not change
when the code does; tests (test_search.py, test_resolution.py) check that the triggers and `stored_keys`
agree.
"""
from __future__ import annotations

DELETION_POSITIONS = 40
"""Only a word's first 40 letters are dropped one at a time (longer words are rare and keep 41 keys)."""

SHORTEST_TYPO_WORD = 4
"""A typed word shorter than this is looked up as it is: one typo in two or three letters is another
word altogether, and its deletion keys ("a", "b"...) would match half the customers."""


def stored_keys(search_name: str) -> set[str]:
    """The keys the database stores for a search name: each word, and each word with one of its first
    `DELETION_POSITIONS` letters dropped."""
    return {word[:position - 1] + word[position:] if position else word
            for word in search_name.split(" ") if word
            for position in range(min(len(word), DELETION_POSITIONS) + 1)}


def typed_keys(word: str) -> list[str]:
    """The keys a typed (folded) word is looked up by: the word itself and, from `SHORTEST_TYPO_WORD`
    letters, the word with any one letter dropped (in a fixed order, so a query's SQL text is the same
    on every run)."""
    if len(word) < SHORTEST_TYPO_WORD:
        return [word]
    return sorted({word, *(word[:i] + word[i + 1:] for i in range(len(word)))})


def prefix_range(word: str) -> tuple[str, str]:
    """[low, high) bounds of the keys starting with `word` (a word still being typed: "dupo" -> dupont)."""
    return word, word[:-1] + chr(ord(word[-1]) + 1)
