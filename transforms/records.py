"""The records that flow between stages; their fields match the store's columns.

Pure: no I/O. Offsets index the article's normalized text.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final


class Record:
    """The base of immutable records (frozen, or with Final fields): pickled as their class
    and field values.

    Compiled (see setup.py), such a record refuses the attribute writes that pickle's default
    state restore makes; rebuilding through ``__init__`` works compiled or not, and the
    scoring pool's workers send their articles, rejects and fingerprints this way.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class RawArticle(Record):
    """An article as a source reader found it, before normalization."""

    source: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    title: str
    text: str
    outlet_home: str | None = None
    language: str | None = None
    is_sample: bool = False
    author: str | None = None
    # True when the text is a feed entry's summary, not the full article.
    is_summary: bool = False
    # Other addresses that led to this article (feed link, redirects), so a later run
    # can skip them without fetching.
    link_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article(Record):
    """A normalized article with its stable identity and content hash."""

    article_id: str
    url: str | None
    outlet: str
    outlet_home: str
    published_at: datetime
    title: str
    text: str
    language: str
    content_hash: str
    source: str
    is_sample: bool = False
    dup_of: str | None = None
    author: str | None = None
    is_summary: bool = False
    # True when the source gave no date: published_at is then the time it was fetched.
    is_undated: bool = False


@dataclass(frozen=True, slots=True)
class Reject(Record):
    """An input that could not be used, with the reason; stored, never dropped silently."""

    source: str
    reason: str
    detail: str = ""


# The three records below are made hundreds of thousands of times per 10,000 articles. A
# dataclass's own __init__ is interpreted Python even when compiled (0.7-0.9 us a record,
# frozen); an explicit __init__ is compiled with the module (0.03 us). Their fields are Final
# instead of frozen: mypy refuses any write after __init__, and compiled, the attributes are
# read-only at run time too (pure Python cannot run such an __init__ on a frozen dataclass).


@dataclass(slots=True, unsafe_hash=True)  # hashed by value: Final fields never change
class Sentence(Record):
    """One sentence of an article, with character offsets into the article text."""

    sentence_idx: Final[int]
    start: Final[int]
    end: Final[int]
    text: Final[str]

    def __init__(self, sentence_idx: int, start: int, end: int, text: str) -> None:
        self.sentence_idx = sentence_idx
        self.start = start
        self.end = end
        self.text = text


@dataclass(slots=True, unsafe_hash=True)
class Mention(Record):
    """An actor found in a sentence; offsets are relative to the sentence."""

    actor_id: Final[str]
    start: Final[int]
    end: Final[int]
    surface: Final[str]

    def __init__(self, actor_id: str, start: int, end: int, surface: str) -> None:
        self.actor_id = actor_id
        self.start = start
        self.end = end
        self.surface = surface


@dataclass(slots=True, unsafe_hash=True)
class Attribution(Record):
    """Who a sentence's words belong to, and how we know."""

    speaker_actor: Final[str | None]
    method: Final[str]  # "quote", "indirect", "speech_act", "continuation", "none"
    # Where the speaker's own words (or the object of a speech act) are: only mentions
    # inside these spans are the speaker's targets.
    content: Final[tuple[tuple[int, int], ...]]
    quotes: Final[tuple[tuple[int, int], ...]]

    def __init__(
        self,
        speaker_actor: str | None,
        method: str,
        content: tuple[tuple[int, int], ...] = (),
        quotes: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.speaker_actor = speaker_actor
        self.method = method
        self.content = content
        self.quotes = quotes


@dataclass(frozen=True, slots=True)
class Edge(Record):
    """A speaker's tone toward a target in one sentence: the unit of 'tone between'."""

    article_id: str
    sentence_idx: int
    published_at: datetime
    source_actor: str
    source_bloc: str
    target_actor: str
    target_bloc: str
    score: float
    method: str
