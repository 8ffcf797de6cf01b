"""Generate a deterministic benchmark corpus of realistic news articles from the actor registry.

The corpus is the project's own: sentence templates filled with registry actors, article
lengths from 300 to 8,000 characters, quotes and attributions in news-like proportions,
and 10% syndicated copies (the same story under another outlet and URL). Written as
JSON-lines shards so the pipeline reads it like any user's export.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tonewatch.flows.config import load_registry

SHARD_ARTICLES = 500
SYNDICATED_FRACTION = 0.10
OUTLETS = [
    ("Bench Moscow Wire", "moscow"),
    ("Bench Kyiv Daily", "kyiv"),
    ("Bench Washington Ledger", "washington"),
    ("Bench Brussels Review", "europe"),
    ("Bench Global Wire", "other"),
]
POSITIVE = ["constructive", "useful", "promising", "productive", "a real step toward peace", "respectful"]
NEGATIVE = ["reckless", "unacceptable", "a provocation", "dangerous", "a failure", "hypocritical", "bogus"]
NEUTRAL = ["under discussion", "expected next week", "not yet scheduled", "on the agenda", "technical"]
TOPICS = [
    "the ceasefire talks",
    "the grain corridor",
    "sanctions",
    "the prisoner exchange",
    "the energy deal",
    "security guarantees",
    "the peace plan",
    "arms deliveries",
]
QUOTE_VERBS = [
    "said",
    "told reporters in the capital on Sunday",
    "said at a news conference after the meeting",
    "told state television in an interview broadcast late on Monday",
    "wrote on Telegram shortly after the talks ended",
]
# Clauses that lengthen a sentence to the ~150 characters of real news sentences.
TAILS = [
    ", adding that the next round of talks would be held within weeks",
    " as delegations prepared for another round of negotiations in the Gulf",
    ", according to a transcript published by the government",
    " after hours of talks that ran late into the night",
    ", in remarks that drew a swift response from officials in several capitals",
    "",
]
ACTS_POSITIVE = ["praised", "welcomed", "thanked", "hailed", "backed"]
ACTS_NEGATIVE = ["criticised", "condemned", "accused", "attacked", "mocked"]
BACKGROUND = [
    "The talks are the first of their kind since the full-scale invasion began in February 2022.",
    "Energy prices rose by {n}% over the month, according to official figures.",
    "Delegations met for about {n} hours behind closed doors.",
    "Markets in Europe were little changed on the news.",
    "The meeting took place in a hotel on the outskirts of the city.",
    "Officials declined to give details of the agenda.",
]


class _Writer:
    def __init__(self, rng: random.Random, actors: list[tuple[str, str, str]]) -> None:
        self.rng = rng
        self.actors = actors  # (alias, actor_id, bloc)

    def pick(self, *, other_than: str | None = None) -> tuple[str, str, str]:
        while True:
            actor = self.rng.choice(self.actors)
            if actor[2] != other_than:
                return actor

    def sentence(self) -> str:
        rng = self.rng
        roll = rng.random()
        speaker = self.pick()
        target = self.pick(other_than=speaker[2])
        tone = rng.choice([POSITIVE, NEGATIVE, NEUTRAL])
        topic = rng.choice(TOPICS)
        tail = rng.choice(TAILS)
        if roll < 0.30:
            verb = rng.choice(QUOTE_VERBS)
            return (
                f'"The position of {target[0]} on {topic} is {rng.choice(tone)} and everyone can see it,"'
                f" {speaker[0]} {verb}{tail}."
            )
        if roll < 0.45:
            return (
                f'{speaker[0]} said: "What {target[0]} proposes on {topic} is {rng.choice(tone)},'
                f' and we will say so at every meeting."'
            )
        if roll < 0.60:
            return (
                f"{speaker[0]} said that the approach of {target[0]} to {topic} was {rng.choice(tone)}{tail}."
            )
        if roll < 0.72:
            act = rng.choice(ACTS_POSITIVE if tone is POSITIVE else ACTS_NEGATIVE)
            return f"{speaker[0]} {act} {target[0]} over {topic}{tail}."
        if roll < 0.80:
            return f'"We will not change course on {topic}, whatever is said in other capitals," he added.'
        if roll < 0.88:
            return f"According to {speaker[0]}, {topic} remain {rng.choice(NEUTRAL)}{tail}."
        return rng.choice(BACKGROUND).format(n=rng.randint(2, 40))

    def article(self, index: int, start: datetime) -> dict:
        rng = self.rng
        target_chars = int(rng.triangular(300, 8000, 1500))
        paragraphs, length = [], 0
        while length < target_chars:
            paragraph = " ".join(self.sentence() for _ in range(rng.randint(1, 4)))
            paragraphs.append(paragraph)
            length += len(paragraph) + 2
        outlet, home = rng.choice(OUTLETS)
        published = start + timedelta(minutes=rng.randint(0, 60 * 24 * 365 * 3))
        slug = f"story-{index}"
        return {
            "url": f"https://bench.tonewatch.invalid/{home}/{published:%Y/%m/%d}/{slug}",
            "outlet": outlet,
            "outlet_home": home,
            "published_at": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "title": f"{self.pick()[0]} and {topic_title(rng)}: story {index}",
            "text": "\n\n".join(paragraphs),
            "language": "en",
            "sample": True,
        }


def topic_title(rng: random.Random) -> str:
    return rng.choice(TOPICS).removeprefix("the ")


def generate_corpus(folder: Path, articles: int, *, seed: int = 7) -> Path:
    """Write ``articles`` articles as JSON-lines shards under ``folder``; same seed, same bytes."""
    registry = load_registry()
    actors = sorted(
        (alias, a.actor_id, a.bloc)
        for a in registry.actors.values()
        if a.bloc in ("washington", "moscow", "kyiv", "europe")
        for alias in a.aliases[:2]
    )
    rng = random.Random(seed)
    writer = _Writer(rng, actors)
    start = datetime(2022, 2, 1, tzinfo=UTC)
    folder.mkdir(parents=True, exist_ok=True)
    originals: list[dict] = []
    shard: list[str] = []
    shard_index = 0
    for index in range(articles):
        if originals and rng.random() < SYNDICATED_FRACTION:
            copy = dict(rng.choice(originals))
            outlet, home = rng.choice(OUTLETS)
            copy.update(outlet=outlet, outlet_home=home, url=copy["url"] + f"-copy-{index}")
            record = copy
        else:
            record = writer.article(index, start)
            if len(originals) < 2000:
                originals.append(record)
        shard.append(json.dumps(record, ensure_ascii=False))
        if len(shard) == SHARD_ARTICLES:
            (folder / f"shard-{shard_index:05d}.jsonl").write_text("\n".join(shard) + "\n", encoding="utf-8")
            shard, shard_index = [], shard_index + 1
    if shard:
        (folder / f"shard-{shard_index:05d}.jsonl").write_text("\n".join(shard) + "\n", encoding="utf-8")
    return folder
