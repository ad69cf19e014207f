"""The name key: how a customer's name is found again despite one typo.

Each word of a customer's search name (store.normalize.fold: only [a-z0-9 ]) is stored in
customer_name_keys (store.models.CustomerNameKey) with every variant of it missing one letter
("dupont" -> dupont, upont, dpont, ..., dupon). Two words within one typo of each other (a letter
replaced, added, dropped, or two letters swapped) share at least one such key, so the keys of a typed
word find every name within one typo of it through the table's primary-key index.

This module is the rule's one home in application code: `stored_keys` is what the database keeps for
a name, `typed_keys` what a typed word is looked up by. The table is kept by database triggers (so every
writer and every process is covered): SQL in revision 0002 (SQLite), PL/pgSQL in revision 0003
(PostgreSQL; its INSERT trigger runs once per statement since revision 0021, the pair keys' too). Those
migrations hold frozen copies of the rule in SQL, as a migration must not change when the code does;
tests (test_search.py, test_resolution.py) check that the triggers and `stored_keys` agree.

`stored_pair_keys` is the second table's rule (customer_name_pair_keys, revision 0017): one word of the
name exactly, a space, and another word of it or one of that word's one-letter deletions ("zoe martin" ->
"zoe martin", "zoe artin", ..., "zoe marti", "martin zoe", "martin oe", "martin ze", "martin zo"). A typed
pair of words with a typo in at most one of them ("zoe martn") finds, through a dozen primary-key lookups,
the customers within one typo of both words, where the one-word keys meet every holder of either word.
A typo may be in the word read exactly too ("zoey martn" for Zoe Martin): the words of the names in the
database within one typo of a typed word are read first from customer_name_words (`stored_word_variants`:
each word under itself and its one-letter deletions), and each stands in for it.
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


def _variants(word: str) -> set[str]:
    return {word[:position - 1] + word[position:] if position else word
            for position in range(min(len(word), DELETION_POSITIONS) + 1)}


def stored_pair_keys(search_name: str) -> set[str]:
    """The pair keys the database stores for a search name: for every two different words a and b of
    it (both orders), "a b" and "a " + b with one of its first `DELETION_POSITIONS` letters dropped."""
    words = list(dict.fromkeys(word for word in search_name.split(" ") if word))
    return {f"{exact} {variant}" for exact in words for other in words if other != exact
            for variant in _variants(other)}


def typed_pair_keys(exact: str, other: str) -> list[str]:
    """The pair keys of a customer holding the typed word `exact` as it is and a word within one typo of
    the typed word `other` (sorted: a query's SQL text is the same on every run)."""
    return [f"{exact} {key}" for key in typed_keys(other)]


def stored_word_variants(search_name: str) -> set[tuple[str, str]]:
    """The (variant, word) rows the database keeps for the words of a search name: each word under
    itself and each of its one-letter deletions, as `stored_keys` makes them."""
    return {(variant, word) for word in search_name.split(" ") if word for variant in _variants(word)}
