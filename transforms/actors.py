"""Find actor mentions in sentences with one Aho–Corasick pass over the registry's aliases.

Pure: no I/O. Matching is case-insensitive in the automaton and then checked: a surface
must equal its alias, capitalise its first letter ("the Kremlin" / "The Kremlin") or be
all caps; "trump card" is not Trump. Of overlapping matches the longest wins ("US State
Department" over "The US", "Vladimir Putin" over "Putin"), and exclusions ("Moscow
Times") are aliases of nobody that win the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ahocorasick

from .patterns import is_word_char
from .records import Mention
from .registry import Registry

_ACTOR, _ROLE, _EXCLUDE = 0, 1, 2
_POSSESSIVE = "'s"


@dataclass(frozen=True, slots=True)
class _Entry:
    alias: str
    kind: int
    index: str | int | None  # actor id, role index, or None for an exclusion


def _surface_fits(surface: str, alias: str) -> bool:
    if surface == alias:
        return True
    # "the Kremlin" may open a sentence as "The Kremlin"; "Trump" must not match "trump card".
    if surface[1:] == alias[1:] and surface[:1] == alias[:1].upper():
        return True
    return surface.isupper() and surface == alias.upper()


class ActorMatcher:
    """A compiled matcher for one registry; build once, reuse for every sentence."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for actor in registry.actors.values():
            for alias in actor.aliases:
                entries.setdefault(alias.lower(), []).append(_Entry(alias, _ACTOR, actor.actor_id))
        for role_index, role in enumerate(registry.roles):
            for alias in role.aliases:
                entries.setdefault(alias.lower(), []).append(_Entry(alias, _ROLE, role_index))
        for phrase in registry.exclusions:
            entries.setdefault(phrase.lower(), []).append(_Entry(phrase, _EXCLUDE, None))
        for key, values in entries.items():
            self._automaton.add_word(key, (len(key), tuple(values)))
        if entries:
            self._automaton.make_automaton()
        self._empty = not entries

    def _resolve(self, entry: _Entry, as_of: date) -> str | None:
        if entry.kind == _ACTOR:
            return entry.index  # type: ignore[return-value]
        if entry.kind == _ROLE:
            return self.registry.roles[entry.index].holder_on(as_of)  # type: ignore[index]
        return None

    def find_mentions(self, text: str, *, as_of: date) -> list[Mention]:
        """All non-overlapping actor mentions in ``text``, longest first, in text order."""
        if self._empty:
            return []
        lowered = text.lower()
        if len(lowered) != len(text):
            # A few characters change length when lower-cased; keep offsets honest.
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        # (-length, start, end, entry): sorted, the longest come first, then the leftmost; no two
        # share a span (one automaton key per span), so entries are never compared.
        candidates: list[tuple[int, int, int, _Entry]] = []
        for end_index, (length, options) in self._automaton.iter(lowered):
            start = end_index - length + 1
            end = end_index + 1
            if start > 0 and is_word_char(text[start - 1]):
                continue
            if end < len(text) and is_word_char(text[end]) and not _alias_ends_inside_word(text, end):
                continue
            surface = text[start:end]
            for entry in options:
                if surface == entry.alias or _surface_fits(surface, entry.alias):
                    candidates.append((-length, start, end, entry))
                    break
        if not candidates:
            return []
        if len(candidates) > 1:
            candidates = _longest_without_overlaps(candidates)
        mentions: list[Mention] = []
        for _, start, end, entry in candidates:
            actor_id = self._resolve(entry, as_of)
            if actor_id is not None:
                mentions.append(Mention(actor_id, start, end, text[start:end]))
        return mentions


def _longest_without_overlaps(
    candidates: list[tuple[int, int, int, _Entry]],
) -> list[tuple[int, int, int, _Entry]]:
    """Of overlapping matches the longest (then the leftmost) wins; the winners in text order."""
    candidates.sort()
    taken: list[tuple[int, int, int, _Entry]] = []
    for candidate in candidates:
        _, start, end, _ = candidate
        for _, taken_start, taken_end, _ in taken:
            if end > taken_start and start < taken_end:
                break
        else:
            taken.append(candidate)
    taken.sort(key=_start_of)
    return taken


def _start_of(candidate: tuple[int, int, int, _Entry]) -> int:
    return candidate[1]


def _alias_ends_inside_word(text: str, end: int) -> bool:
    # An alias ending in punctuation ("U.S.") is already bounded.
    return not is_word_char(text[end - 1])


def find_mentions(text: str, matcher: ActorMatcher, *, as_of: date) -> list[Mention]:
    """Convenience wrapper: the mentions of ``matcher``'s actors in ``text`` on ``as_of``."""
    return matcher.find_mentions(text, as_of=as_of)
