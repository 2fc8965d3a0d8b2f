"""Matching the access patterns a backtracking regex could take centuries on, in linear time.

Python's ``re`` backtracks. A pattern whose wildcards can read the same characters in more than
one way (``#.#.#.z``: every ``#`` reads dots; ``x.a*a*a*z``: every ``*`` reads the ``a``s) makes
a failed full match try every split of the string among them: len(required) ** wildcards steps.
Anyone holding a token with such a pattern (a tenant administrator may write one into a policy)
could then freeze a worker for hours with one ``HEAD /token/{t}?scope=`` of a few hundred dots.

``risky`` tells those patterns apart; matching.py keeps every other pattern in its compiled
regex (the hot path: one C-speed match) and matches these with ``LinearPattern``, a Thompson
simulation of the pattern's automaton: the set of states alive after each character, so
len(required) * len(pattern) steps at most, whatever the input. Thousands of such patterns
in one ACL would still make that seconds a check: each check (or request of many scopes) has a
``Budget`` of steps, past which the access is refused.

A wildcard reads what its regex in matching.py reads (``*``: no ``.``, ``#`` or sentinel; ``#``:
no sentinel), and a segment that is a reserved word reads one of its fixed words.
"""
from __future__ import annotations

from collections.abc import Sequence

_LIT, _STAR, _HASH = 0, 1, 2

# The automaton steps (a live state reading a character) one check, or one request of many
# scopes, may spend on risky patterns: about 0.1 s of CPU. A few such patterns take thousands
# of steps for a scope of 1024 characters (`confd.#.#.#.#.#.#.z`: 8,000); only thousands of
# them in one ACL, written to tie up workers (4096 `confd.#.#.eN` read such a scope in 7 s),
# reach this.
STEPS = 200_000


class Exhausted(Exception):
    """The budget ran out before the answer was known: the access is refused (matching.py),
    never granted."""


class Budget:
    """Steps left to one check, or one request of several (``STEPS`` by default)."""

    __slots__ = ('left',)

    def __init__(self, steps: int = STEPS):
        self.left = steps


def risky(pattern: str) -> bool:
    """True when a backtracking match of ``pattern`` may take more than linear time: two
    ``#`` (both read dots: they compete for the same characters wherever they are), or two
    wildcards in one segment. Wildcards in different segments, at most one of them a ``#``,
    are separated by a literal dot that only one alignment satisfies; the regex keeps them."""
    if pattern.count('#') > 1:
        return True
    return any(segment.count('*') + segment.count('#') > 1 for segment in pattern.split('.'))


class LinearPattern:
    """One access pattern as an automaton. ``words``: the fixed words a whole segment reads
    instead of its text (a reserved word's alternatives); ``star_stops`` and ``hash_stops``:
    the characters ``*`` and ``#`` do not read; ``unreadable``: characters that, written in
    the pattern, read nothing (the sentinels of matching.py)."""

    __slots__ = ('_moves', '_empty', '_final', '_start')

    def __init__(self, pattern: str, words: dict[str, Sequence[str]], star_stops: str,
                 hash_stops: str, unreadable: str = ''):
        self._moves: list[list[tuple[int, str, int]]] = [[]]  # state → (kind, chars, target)
        self._empty: list[list[int]] = [[]]  # state → states reached reading nothing
        state = 0
        for index, segment in enumerate(pattern.split('.')):
            if index:
                state = self._literal(state, '.')
            if segment in words:
                state = self._choice(state, words[segment])
                continue
            for char in segment:
                if char == '*':
                    state = self._loop(state, _STAR, star_stops)
                elif char == '#':
                    state = self._loop(state, _HASH, hash_stops)
                else:  # '' equals no character: an unreadable one fails there
                    state = self._literal(state, '' if char in unreadable else char)
        self._final = state
        self._start = self._closure({0})

    def matches(self, required: str, budget: Budget) -> bool:
        """True iff the whole of ``required`` is read by the pattern. Raises Exhausted when
        ``budget`` runs out first."""
        alive = self._start
        for char in required:
            budget.left -= len(alive)
            if budget.left < 0:
                raise Exhausted()
            reached = set()
            for state in alive:
                for kind, chars, target in self._moves[state]:
                    if (char == chars) if kind == _LIT else (char not in chars):
                        reached.add(target)
            if not reached:
                return False
            alive = self._closure(reached)
        return self._final in alive

    def _new_state(self) -> int:
        self._moves.append([])
        self._empty.append([])
        return len(self._moves) - 1

    def _literal(self, state: int, char: str) -> int:
        target = self._new_state()
        self._moves[state].append((_LIT, char, target))
        return target

    def _loop(self, state: int, kind: int, stops: str) -> int:
        """A wildcard: ``state`` reads any character not in ``stops`` and stays, or moves on
        reading nothing."""
        self._moves[state].append((kind, stops, state))
        target = self._new_state()
        self._empty[state].append(target)
        return target

    def _choice(self, state: int, words: Sequence[str]) -> int:
        end = self._new_state()
        for word in words:
            current = state
            for char in word:
                current = self._literal(current, char)
            self._empty[current].append(end)
        return end

    def _closure(self, states: set[int]) -> frozenset[int]:
        pending, seen = list(states), set(states)
        while pending:
            for target in self._empty[pending.pop()]:
                if target not in seen:
                    seen.add(target)
                    pending.append(target)
        return frozenset(seen)
