"""Hand-made corpora for the report tests: statements in, store-shaped frames or a real store out.

One ``Statement`` is one article with one sentence in which a speaker says something about
a target: an article, a sentence, a mention and an edge, as the pipeline would store them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from tonewatch.flows import store
from tonewatch.flows.config import load_registry
from tonewatch.transforms.analyze import EDGE_COLUMNS, MENTION_COLUMNS, SENTENCE_COLUMNS, BatchRows
from tonewatch.transforms.records import Article

SCORER_VERSION = "sv-test"
# actor id → (display name, bloc), as in the shipped registry.
ACTORS = {
    "putin": ("Vladimir Putin", "moscow"),
    "peskov": ("Dmitry Peskov", "moscow"),
    "lavrov": ("Sergei Lavrov", "moscow"),
    "trump": ("Donald Trump", "washington"),
    "rubio": ("Marco Rubio", "washington"),
    "zelensky": ("Volodymyr Zelensky", "kyiv"),
    "sybiha": ("Andrii Sybiha", "kyiv"),
    "macron": ("Emmanuel Macron", "europe"),
}
OUTLET_HOMES = {
    "Sample Moscow Wire": "moscow",
    "Sample Kyiv Daily": "kyiv",
    "Sample Washington Ledger": "washington",
    "Sample Brussels Review": "europe",
    "Sample World Service": "other",
}


@dataclass(frozen=True)
class Statement:
    """``speaker`` (None: the outlet's own voice) says ``sentence`` about ``target`` with ``score``."""

    published_at: datetime
    speaker: str | None
    target: str
    score: float
    sentence: str = ""
    outlet: str = "Sample Moscow Wire"
    title: str = ""
    url: str | None = None
    copy_of: int | None = None  # index of the statement this article is a syndicated copy of


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _article_id(index: int) -> str:
    return f"a{index:06d}"


def _text(statement: Statement, index: int) -> str:
    return statement.sentence or f"Statement {index} about {statement.target}."


def edges_and_tones(statements: list[Statement]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The frames ``store.read_edges`` (every copy) and ``store.read_target_tones`` would return."""
    edges, tones = [], []
    for index, s in enumerate(statements):
        target_name, target_bloc = ACTORS[s.target]
        speaker_name, speaker_bloc = ACTORS[s.speaker] if s.speaker else (None, None)
        common = {
            "published_at": s.published_at,
            "score": s.score,
            "target": target_name,
            "target_bloc": target_bloc,
            "target_actor": s.target,
            "speaker": speaker_name,
            "source_bloc": speaker_bloc,
            "source_actor": s.speaker,
            "outlet": s.outlet,
            "outlet_home": OUTLET_HOMES[s.outlet],
            "title": s.title or f"Article {index}",
            "url": s.url if s.url is not None else f"https://news.example/{index}",
            "sentence": _text(s, index),
            "article_id": _article_id(index),
            "sentence_idx": 0,
            "dup_of": None if s.copy_of is None else _article_id(s.copy_of),
        }
        tones.append(common)
        if s.speaker:
            edges.append({**common, "method": "quote", "scorer_version": SCORER_VERSION})
    schema = {
        "published_at": pl.Datetime("us", "UTC"),
        "score": pl.Float64,
        "sentence_idx": pl.Int32,
        **{name: pl.Utf8 for name in ("target", "target_bloc", "target_actor", "speaker", "source_bloc")},
        **{name: pl.Utf8 for name in ("source_actor", "outlet", "outlet_home", "title", "url", "sentence")},
        **{name: pl.Utf8 for name in ("article_id", "dup_of", "method", "scorer_version")},
    }
    edge_frame = pl.DataFrame(edges, schema=schema)
    tone_frame = pl.DataFrame(
        tones, schema={k: v for k, v in schema.items() if k not in ("method", "scorer_version")}
    )
    return edge_frame, tone_frame


def write_store(db_path: Path, statements: list[Statement], *, repeat_every: int = 0) -> Path:
    """A real DuckDB store holding ``statements``, written through the store's own functions.

    With ``repeat_every``, every so many sentences name their target twice, the second time
    with another tone (one opinion: the report counts the first).
    """
    registry = load_registry()
    articles, rows = (
        [],
        BatchRows(
            sentences={c: [] for c in SENTENCE_COLUMNS},
            mentions={c: [] for c in MENTION_COLUMNS},
            edges={c: [] for c in EDGE_COLUMNS},
        ),
    )
    for index, s in enumerate(statements):
        text = _text(s, index)
        source = statements[s.copy_of] if s.copy_of is not None else s
        digest = hashlib.sha256(
            _text(source, s.copy_of if s.copy_of is not None else index).encode()
        ).hexdigest()
        article_id = _article_id(index)
        articles.append(
            Article(
                article_id=article_id,
                url=s.url if s.url is not None else f"https://news.example/{index}",
                outlet=s.outlet,
                outlet_home=OUTLET_HOMES[s.outlet],
                published_at=s.published_at,
                title=s.title or f"Article {index}",
                text=text,
                language="en",
                content_hash=digest,
                source="test",
            )
        )
        values = [article_id, 0, 0, len(text), text, s.speaker, "quote" if s.speaker else "none", s.score]
        for column, value in zip(SENTENCE_COLUMNS, [*values, SCORER_VERSION], strict=True):
            rows.sentences[column].append(value)
        mention = [article_id, 0, 0, s.target, 0, 1, s.target, s.score, SCORER_VERSION]
        repeat = [article_id, 0, 1, s.target, 2, 3, s.target, -s.score / 2, SCORER_VERSION]
        for mentioned in [mention, repeat] if repeat_every and index % repeat_every == 0 else [mention]:
            for column, value in zip(MENTION_COLUMNS, mentioned, strict=True):
                rows.mentions[column].append(value)
        if s.speaker:
            edge = [
                article_id, 0, s.published_at, s.speaker, registry.bloc_of(s.speaker), s.target,
                registry.bloc_of(s.target), s.score, "quote", SCORER_VERSION,
            ]  # fmt: skip
            for column, value in zip(EDGE_COLUMNS, edge, strict=True):
                rows.edges[column].append(value)
    with store.open_store(db_path) as con:
        store.sync_registry(con, registry)
        run_id = store.start_run(con, flow="test", scorer_version=SCORER_VERSION)
        store.write_batch(con, articles, rows, scorer_version=SCORER_VERSION)
        store.link_duplicates(con)
        store.finish_run(con, run_id, status="completed", counts={}, seconds=0.0)
    return db_path


def golden_corpus() -> list[Statement]:
    """Moscow's tone toward Washington rises in the week of 17 Feb 2025; Washington's stays cold."""
    statements = []
    before = [-0.41, -0.01, -0.21, -0.31, -0.11]  # mean −0.21
    for week in range(5):  # weeks of 13 Jan … 10 Feb 2025
        monday = at("2025-01-13") + timedelta(weeks=week)
        for i in range(4):
            statements.append(
                Statement(monday + timedelta(days=i), "lavrov", "trump", before[(week + i) % 5])
            )
    after = [0.12, 0.52, 0.34] * 7 + [0.34]  # with the quote below: 23 statements, mean +0.34
    for i, score in enumerate(after):
        day = at("2025-02-17") + timedelta(days=i % 20, hours=i % 3)
        statements.append(Statement(day, "putin", "trump", score, outlet="Sample World Service"))
    statements.append(
        Statement(
            at("2025-02-18", 11), "peskov", "trump", 0.62,
            sentence='"We are ready to work with Washington," Peskov said.', title="Kremlin hails call",
        )
    )  # fmt: skip
    cold = [-0.35, -0.25, -0.3]
    for i in range(24):  # weeks of 13 Jan … 3 Mar 2025, no shift
        day = at("2025-01-13") + timedelta(days=2 * i)
        statements.append(Statement(day, "rubio", "putin", cold[i % 3], outlet="Sample Washington Ledger"))
    statements.append(Statement(at("2025-02-20"), "zelensky", "putin", -0.8, outlet="Sample Kyiv Daily"))
    return statements


def synthetic_corpus(count: int, *, seed: int = 7, days: int = 365) -> list[Statement]:
    """``count`` random statements over ``days`` days from 2024-01-01, every bloc to every bloc,
    and a third as many sentences in an outlet's own voice."""
    rng = random.Random(seed)
    speakers = [a for a in ACTORS]
    outlets = list(OUTLET_HOMES)
    words = "talks sanctions ceasefire summit aid strikes drones grain energy border peace envoy".split()
    start = at("2024-01-01", 0)
    base = Statement(start, "putin", "trump", 0.0)
    statements = []
    for i in range(count + count // 3):
        speaker, target = rng.choice(speakers) if i < count else None, rng.choice(speakers)
        published = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        # Moscow warms to Washington two thirds of the way through: a shift the report must find.
        is_thaw = speaker in ("putin", "peskov", "lavrov") and target in ("trump", "rubio")
        drift = 0.5 if is_thaw and published - start > timedelta(days=days * 2 // 3) else 0.0
        score = max(-1.0, min(1.0, rng.gauss(drift - 0.05, 0.4)))
        sentence = (
            f"{ACTORS[speaker or target][0]} said the {rng.choice(words)} with {ACTORS[target][0]} were "
            f"{rng.choice(['constructive', 'unacceptable', 'premature', 'promising'])}, "
            f"adding that {rng.choice(words)} and {rng.choice(words)} would follow within weeks."
        )
        statements.append(
            replace(
                base, published_at=published, speaker=speaker,
                target=target, score=round(score, 4), sentence=sentence, outlet=rng.choice(outlets),
                title=f"Story {i // 3}",
            )
        )  # fmt: skip
    return statements
