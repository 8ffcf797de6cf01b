"""Run the pure stages over a batch of articles: split, find actors, attribute, score.

Pure: no I/O. The caller may pass ``on_stage`` to time the stages; it is only called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .actors import ActorMatcher
from .attribute import attribute_article
from .records import Article, Attribution, Mention, Sentence
from .registry import Registry
from .score import ToneScorer
from .split import paragraph_starts, split_sentences

SCORED_LANGUAGES = frozenset({"en"})


@dataclass(frozen=True)
class ScoringContext:
    """Everything scoring needs, built once per process."""

    registry: Registry
    matcher: ActorMatcher
    scorer: ToneScorer
    scorer_version: str


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
    """Split, match, attribute and score ``articles``; returns the rows to store."""
    scored = [a for a in articles if a.language in SCORED_LANGUAGES]
    on_stage("normalize")
    sentences = [split_sentences(a.text) for a in scored]
    on_stage("split")
    mentions = [
        [context.matcher.find_mentions(s.text, as_of=a.published_at.date()) for s in article_sentences]
        for a, article_sentences in zip(scored, sentences, strict=True)
    ]
    on_stage("actors")
    attributions = [
        attribute_article(ss, ms, context.registry, paragraph_starts=paragraph_starts(a.text))
        for a, ss, ms in zip(scored, sentences, mentions, strict=True)
    ]
    on_stage("attribution")
    sentence_rows: list[tuple] = []
    mention_rows: list[tuple] = []
    edge_rows: list[tuple] = []
    for article, ss, ms, ats in zip(scored, sentences, mentions, attributions, strict=True):
        _score_article(article, ss, ms, ats, context, sentence_rows, mention_rows, edge_rows)
    rows = BatchRows(
        sentences=_columns(SENTENCE_COLUMNS, sentence_rows),
        mentions=_columns(MENTION_COLUMNS, mention_rows),
        edges=_columns(EDGE_COLUMNS, edge_rows),
        articles_scored=[a.article_id for a in scored],
    )
    on_stage("score")
    return rows


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
        for mention_idx, mention in enumerate(sentence_mentions):
            tone = scorer.target_tone(text, valences, mention, quotes=attribution.quotes)
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
        for target, target_tones in tones.items():
            edge_rows.append(
                (
                    article_id,
                    sentence_idx,
                    article.published_at,
                    speaker,
                    registry.bloc_of(speaker),
                    target,
                    registry.bloc_of(target),
                    round(sum(target_tones) / len(target_tones), 4),
                    method,
                    version,
                )
            )
