"""Run the pure stages over a batch of articles: split, find actors, attribute, score.

Pure: no I/O. The caller may pass ``on_stage`` to time the stages; it is only called.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from .actors import ActorMatcher
from .attribute import attribute_article
from .records import Article, Attribution, Mention, Sentence
from .registry import Registry
from .score import ToneScorer
from .split import paragraph_starts, split_sentences

SCORED_LANGUAGES = frozenset({"en"})
# Bytes of remembered rows the copy memo holds per process (about 3 kB an article, so some
# 20,000 articles): wire copies arrive within hours or days of their original, not a corpus
# apart. It is cleared when full, never evicted one by one, to keep the lookup a plain dict
# and memory flat as a corpus grows.
COPY_MEMO_BYTES = 64 * 2**20


@dataclass
class ArticleRows:
    """One article's sentence, mention and edge rows, as built for the store."""

    sentences: list[tuple]
    mentions: list[tuple]
    edges: list[tuple]


def copy_key(article: Article) -> tuple[bytes, date]:
    """What an article's rows depend on besides its id and time: its text, and the day that
    actors are matched on (titles and roles change hands)."""
    return hashlib.blake2b(article.text.encode(), digest_size=16).digest(), article.published_at.date()


# An article's rows without what differs between copies or is read back from the text:
# (sentence_idx, start, end, speaker, method, compound) per sentence, a mention row's
# fields from sentence_idx to target_score, an edge row's without id, time and version.
CompactRows = tuple[list[tuple], list[tuple], list[tuple]]


def compact_rows(rows: ArticleRows) -> CompactRows:
    return (
        [(r[1], r[2], r[3], r[5], r[6], r[7]) for r in rows.sentences],
        [r[1:8] for r in rows.mentions],
        [(r[1], *r[3:9]) for r in rows.edges],
    )


def rows_for(compact: CompactRows, article: Article, scorer_version: str) -> ArticleRows:
    """``compact`` rows (of a text equal to ``article``'s) as ``article``'s own."""
    sentences, mentions, edges = compact
    article_id, text, published_at = article.article_id, article.text, article.published_at
    return ArticleRows(
        [
            (article_id, index, start, end, text[start:end], speaker, method, compound, scorer_version)
            for index, start, end, speaker, method, compound in sentences
        ],
        [(article_id, *mention, scorer_version) for mention in mentions],
        [(article_id, edge[0], published_at, *edge[1:], scorer_version) for edge in edges],
    )


class CopyMemo:
    """The compact rows of articles already analysed, by ``copy_key``: an exact syndicated
    copy (the same text under another outlet and URL) takes its original's rows under its
    own id and time instead of being split, matched, attributed and scored again.

    Kept marshalled: a fifth of the size of the rows as Python tuples.
    """

    def __init__(self, max_bytes: int = COPY_MEMO_BYTES) -> None:
        self.max_bytes = max_bytes
        self._blobs: dict[tuple[bytes, date], bytes] = {}
        self.bytes_held = 0

    def get(self, key: tuple[bytes, date]) -> CompactRows | None:
        blob = self._blobs.get(key)
        return None if blob is None else marshal.loads(blob)

    def put(self, key: tuple[bytes, date], compact: CompactRows) -> None:
        blob = marshal.dumps(compact)
        if self.bytes_held + len(blob) > self.max_bytes:
            self._blobs.clear()
            self.bytes_held = 0
        self._blobs[key] = blob
        self.bytes_held += len(blob)


@dataclass(frozen=True)
class ScoringContext:
    """Everything scoring needs, built once per process."""

    registry: Registry
    matcher: ActorMatcher
    scorer: ToneScorer
    scorer_version: str
    copies: CopyMemo = field(default_factory=CopyMemo, compare=False)


@dataclass
class BatchRows:
    """Column-oriented rows for the store's sentences, mentions and edges tables."""

    sentences: dict[str, list] = field(default_factory=dict)
    mentions: dict[str, list] = field(default_factory=dict)
    edges: dict[str, list] = field(default_factory=dict)
    articles_scored: list[str] = field(default_factory=list)


SENTENCE_COLUMNS = (
    "article_id",
    "sentence_idx",
    "start",
    "end",
    "text",
    "speaker_actor",
    "attribution",
    "compound",
    "scorer_version",
)
MENTION_COLUMNS = (
    "article_id",
    "sentence_idx",
    "mention_idx",
    "actor_id",
    "start",
    "end",
    "surface",
    "target_score",
    "scorer_version",
)
EDGE_COLUMNS = (
    "article_id",
    "sentence_idx",
    "published_at",
    "source_actor",
    "source_bloc",
    "target_actor",
    "target_bloc",
    "score",
    "method",
    "scorer_version",
)


def _noop(_stage: str) -> None:
    return None


def analyze_articles(
    articles: Sequence[Article],
    context: ScoringContext,
    *,
    on_stage: Callable[[str], None] = _noop,
) -> BatchRows:
    """Split, match, attribute and score ``articles``; returns the rows to store.

    An article whose text and day match one analysed before in this process (or earlier in
    ``articles``) reuses its rows: the result is the same, without the work.
    """
    scored = [a for a in articles if a.language in SCORED_LANGUAGES]
    keys = [copy_key(a) for a in scored]
    compact_of: dict[tuple[bytes, date], CompactRows] = {}  # remembered, or made below
    fresh_indexes: list[int] = []  # in ``scored``: the first article of each key not remembered
    seen: set[tuple[bytes, date]] = set()
    for index, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            remembered = context.copies.get(key)
            if remembered is None:
                fresh_indexes.append(index)
            else:
                compact_of[key] = remembered
    fresh = [scored[index] for index in fresh_indexes]
    on_stage("normalize")
    sentences = [split_sentences(a.text) for a in fresh]
    on_stage("split")
    mentions = [
        [context.matcher.find_mentions(s.text, as_of=a.published_at.date()) for s in article_sentences]
        for a, article_sentences in zip(fresh, sentences, strict=True)
    ]
    on_stage("actors")
    attributions = [
        attribute_article(ss, ms, context.registry, paragraph_starts=paragraph_starts(a.text))
        for a, ss, ms in zip(fresh, sentences, mentions, strict=True)
    ]
    on_stage("attribution")
    own_rows: dict[int, ArticleRows] = {}
    for index, ss, ms, ats in zip(fresh_indexes, sentences, mentions, attributions, strict=True):
        rows = own_rows[index] = ArticleRows([], [], [])
        _score_article(scored[index], ss, ms, ats, context, rows.sentences, rows.mentions, rows.edges)
        compact_of[keys[index]] = compact_rows(rows)
        context.copies.put(keys[index], compact_of[keys[index]])
    sentence_rows: list[tuple] = []
    mention_rows: list[tuple] = []
    edge_rows: list[tuple] = []
    for index, (article, key) in enumerate(zip(scored, keys, strict=True)):
        rows = own_rows.get(index) or rows_for(compact_of[key], article, context.scorer_version)
        sentence_rows += rows.sentences
        mention_rows += rows.mentions
        edge_rows += rows.edges
    batch = BatchRows(
        sentences=_columns(SENTENCE_COLUMNS, sentence_rows),
        mentions=_columns(MENTION_COLUMNS, mention_rows),
        edges=_columns(EDGE_COLUMNS, edge_rows),
        articles_scored=[a.article_id for a in scored],
    )
    on_stage("score")
    return batch


def _columns(names: Sequence[str], rows: list[tuple]) -> dict[str, list]:
    """Rows built as tuples (one append per row, not per value) turned into columns."""
    if not rows:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def _score_article(
    article: Article,
    sentences: Sequence[Sentence],
    mentions: Sequence[Sequence[Mention]],
    attributions: Sequence[Attribution],
    context: ScoringContext,
    sentence_rows: list[tuple],
    mention_rows: list[tuple],
    edge_rows: list[tuple],
) -> None:
    scorer, registry, version = context.scorer, context.registry, context.scorer_version
    article_id = article.article_id
    for sentence, sentence_mentions, attribution in zip(sentences, mentions, attributions, strict=True):
        text, sentence_idx = sentence.text, sentence.sentence_idx
        valences = scorer.valences(text)
        speaker, method = attribution.speaker_actor, attribution.method
        sentence_rows.append(
            (
                article_id,
                sentence_idx,
                sentence.start,
                sentence.end,
                text,
                speaker,
                method,
                valences.compound,
                version,
            )
        )
        if not sentence_mentions:
            continue
        tones: dict[str, list[float]] = {}
        mention_tones = scorer.target_tones(text, valences, sentence_mentions, quotes=attribution.quotes)
        for mention_idx, (mention, tone) in enumerate(zip(sentence_mentions, mention_tones, strict=True)):
            mention_rows.append(
                (
                    article_id,
                    sentence_idx,
                    mention_idx,
                    mention.actor_id,
                    mention.start,
                    mention.end,
                    mention.surface,
                    tone,
                    version,
                )
            )
            if (
                speaker
                and mention.actor_id != speaker
                and any(b <= mention.start < e for b, e in attribution.content)
            ):
                tones.setdefault(mention.actor_id, []).append(tone)
        # ``tones`` has entries only when the sentence has a speaker; testing for None too
        # gives ``bloc_of`` a str, as the compiled module's types require.
        if not tones or speaker is None:
            continue
        speaker_bloc = registry.bloc_of(speaker)
        for target, target_tones in tones.items():
            edge_rows.append(
                (
                    article_id,
                    sentence_idx,
                    article.published_at,
                    speaker,
                    speaker_bloc,
                    target,
                    registry.bloc_of(target),
                    round(sum(target_tones) / len(target_tones), 4),
                    method,
                    version,
                )
            )
