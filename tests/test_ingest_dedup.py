"""Syndicated copies (MinHash/LSH, linked with dup_of), language detection, the store's ingest tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from ingest_server import DATA

from tonewatch.flows import store
from tonewatch.flows.ingest import find_copies
from tonewatch.flows.sources.files import read_file
from tonewatch.transforms.analyze import EDGE_COLUMNS, MENTION_COLUMNS, SENTENCE_COLUMNS, BatchRows
from tonewatch.transforms.dedup import (
    ESTIMATE_FLOOR,
    LSH_BANDS,
    LSH_ROWS,
    NEAR_DUPLICATE_JACCARD,
    NUM_PERM,
    band_keys,
    confirm_copies,
    duplicate_roots,
    estimated_jaccard,
    jaccard,
    likely_rows,
    shingles,
    signature_values,
)
from tonewatch.transforms.language import detect_language, language_tag
from tonewatch.transforms.normalize import normalize_article

FETCHED = datetime(2025, 3, 1, tzinfo=UTC)
UNRELATED = (
    "Russian President Vladimir Putin said on Thursday that Moscow was ready to discuss a ceasefire, but"
    " that Kyiv would first have to withdraw its forces from four regions. Ukraine's foreign ministry"
    " called the demand an ultimatum and said talks could only start from the current front line. In"
    " Washington, the White House said it was studying the proposal and would consult with European"
    " allies, while NATO's secretary general said the alliance would keep supplying Ukraine with air defence."
)


def _syndicated():
    return [
        normalize_article(next(iter(read_file(p))), fetched_at=FETCHED)
        for p in sorted((DATA / "syndicated").iterdir())
    ]


def test_lsh_split_uses_every_permutation():
    assert LSH_BANDS * LSH_ROWS == NUM_PERM
    assert NEAR_DUPLICATE_JACCARD == 0.5


def test_three_edited_copies_are_near_duplicates_and_share_bands():
    one, three, two = _syndicated()
    for a, b in ((one, two), (one, three), (two, three)):
        similarity = jaccard(shingles(a.text), shingles(b.text))
        assert NEAR_DUPLICATE_JACCARD <= similarity < 1
        assert set(band_keys(shingles(a.text))) & set(band_keys(shingles(b.text)))


def test_a_different_story_on_the_same_topic_is_not_a_copy():
    one, *_ = _syndicated()
    assert jaccard(shingles(one.text), shingles(UNRELATED)) < 0.05
    assert not set(band_keys(shingles(one.text))) & set(band_keys(shingles(UNRELATED)))


def test_band_keys_are_stable_and_short_texts_get_none():
    text = _syndicated()[0].text
    assert band_keys(shingles(text)) == band_keys(shingles(text))
    assert len(band_keys(shingles(text))) == LSH_BANDS
    assert band_keys(shingles("Peskov said the talks were useful.")) == []


def test_confirm_copies_keeps_pairs_over_the_threshold_once():
    texts = {"a": "x " * 10 + UNRELATED, "b": UNRELATED, "c": "Something else entirely, said nobody."}
    assert confirm_copies([("a", "b"), ("b", "a"), ("a", "c"), ("a", "a")], texts) == [("a", "b", 0.9383)]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("b", "a")], {"b": "a"}),
        ([("a", "b"), ("b", "c")], {"b": "a", "c": "a"}),
        ([("c", "b"), ("d", "c"), ("x", "y")], {"c": "b", "d": "b", "y": "x"}),
    ],
    ids=["pair", "chain", "two-groups"],
)
def test_duplicate_roots_point_every_copy_at_the_earliest(pairs, expected):
    order = {name: i for i, name in enumerate("abcdxy")}
    assert duplicate_roots(pairs, order) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The Kremlin said on Monday that talks with Washington had been useful and businesslike.", "en"),
        ("Кремль заявил в понедельник, что переговоры с Вашингтоном были полезными и деловыми.", "ru"),
        ("Президент України заявив, що Київ не погодиться на жодну угоду, укладену без нього.", "uk"),
        ("Le Kremlin a déclaré lundi que les discussions avec Washington avaient été utiles.", "fr"),
        ("Putin warns NATO", "en"),  # too short to tell: taken as English
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("value", "tag"),
    [("en-US", "en"), ("EN", "en"), ("ru_RU", "ru"), (" uk ", "uk"), ("", None), (None, None), ("x1", None)],
)
def test_language_tag(value, tag):
    assert language_tag(value) == tag


# ---------------------------------------------------------------- in a real store


def _no_rows() -> BatchRows:
    return BatchRows(
        sentences={c: [] for c in SENTENCE_COLUMNS},
        mentions={c: [] for c in MENTION_COLUMNS},
        edges={c: [] for c in EDGE_COLUMNS},
    )


def _store(db: Path, articles) -> None:
    with store.open_store(db) as con:
        store.write_batch(con, articles, _no_rows(), scorer_version="v")


def _find_copies(db: Path, articles) -> int:
    with store.open_store(db) as con:
        pairs, _ = find_copies(con, articles)
    return pairs


def _dup_of(db: Path) -> dict[str, str | None]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("select url, dup_of from articles").fetchall())


def test_copies_are_linked_to_the_earliest_and_linking_is_idempotent(tmp_path):
    db = tmp_path / "t.duckdb"
    articles = _syndicated()
    _store(db, articles)
    assert _find_copies(db, articles) == 3
    with store.open_store(db) as con:
        assert store.link_duplicates(con) == 2
    first = _dup_of(db)
    original = min(articles, key=lambda a: a.published_at)
    assert first[original.url] is None
    assert sorted(v for v in first.values() if v) == [original.article_id] * 2
    with store.open_store(db) as con:
        assert store.link_duplicates(con) == 2
        assert store.link_duplicates(con) == 2
    assert _dup_of(db) == first


def test_a_copy_stored_later_is_found_against_the_store_and_an_edit_unlinks_it(tmp_path):
    db = tmp_path / "t.duckdb"
    one, three, two = _syndicated()
    _store(db, [one, two])
    _find_copies(db, [one, two])
    _store(db, [three])
    _find_copies(db, [three])
    with store.open_store(db) as con:
        store.link_duplicates(con)
    assert _dup_of(db)[three.url] == one.article_id
    rewritten = normalize_article(
        next(iter(read_file(DATA / "syndicated" / "outlet-three.md"))), fetched_at=FETCHED
    )
    rewritten = replace(rewritten, text=UNRELATED)
    _store(db, [rewritten])
    _find_copies(db, [rewritten])
    with store.open_store(db) as con:
        store.link_duplicates(con)
    assert _dup_of(db)[three.url] is None


def _store_and_find_copies_as_the_flow_does(db: Path, articles) -> None:
    """Write, then find copies told which articles the store held before (as ``write_unit``)."""
    with store.open_store(db) as con:
        stored_before = frozenset(store.stored_states(con, [a.article_id for a in articles]))
        store.write_batch(con, articles, _no_rows(), scorer_version="v")
        find_copies(con, articles, stored_before=stored_before)
        store.link_duplicates(con)


def _copy_rows(db: Path, article_id: str) -> tuple[list[int], int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        bands = [row[0] for row in con.execute(
            "select bucket from article_bands where article_id = ? order by bucket", [article_id]
        ).fetchall()]  # fmt: skip
        signatures = con.execute(
            "select count(*) from article_signatures where article_id = ?", [article_id]
        ).fetchone()[0]
        pairs = con.execute(
            "select count(*) from near_duplicates where ? in (article_id, other_id)", [article_id]
        ).fetchone()[0]
    return bands, signatures, pairs


def test_new_articles_skip_the_deletes_and_an_edited_one_still_loses_its_old_bands_and_pairs(tmp_path):
    db = tmp_path / "t.duckdb"
    one, three, two = _syndicated()
    _store_and_find_copies_as_the_flow_does(db, [one, two])
    _store_and_find_copies_as_the_flow_does(db, [three])
    assert _dup_of(db)[three.url] == one.article_id
    assert _copy_rows(db, three.article_id) == (sorted(band_keys(shingles(three.text))), 1, 2)
    rewritten = replace(three, text=UNRELATED)
    _store_and_find_copies_as_the_flow_does(db, [rewritten])
    assert _dup_of(db)[three.url] is None
    # Only the new text's keys, one signature, no pair left from the old text.
    assert _copy_rows(db, three.article_id) == (sorted(band_keys(shingles(UNRELATED))), 1, 0)
    assert _copy_rows(db, one.article_id)[2] == 1  # one and two are still copies


def test_fetch_state_validators_and_known_urls(tmp_path):
    db = tmp_path / "t.duckdb"
    now = datetime.now(UTC)
    with store.open_store(db) as con:
        store.write_batch(con, _syndicated()[:1], _no_rows(), scorer_version="v")
        store.record_fetches(
            con,
            [
                ("https://feed.example/rss", '"e1"', None, 200, "ok"),
                ("https://feed.example/gone", None, None, None, "rejected"),
            ],
        )
        store.record_fetches(con, [("https://feed.example/rss", '"e2"', "Sun, 23 Feb 2025", 200, "ok")])
        store.record_article_urls(con, [("https://feed.example/link/1", "a1")])
        assert store.fetch_validators(con, ["https://feed.example/rss", "https://feed.example/gone"]) == {
            "https://feed.example/rss": ('"e2"', "Sun, 23 Feb 2025")
        }
        stored_url = _syndicated()[0].url
        wanted = [
            stored_url,
            "https://feed.example/link/1",
            "https://feed.example/gone",
            "https://new.example/",
        ]
        assert store.known_urls(con, wanted, rejected_since=now - timedelta(days=7)) == set(wanted[:3])
        # A page rejected long ago is worth another try.
        assert store.known_urls(con, wanted, rejected_since=now + timedelta(days=1)) == set(wanted[:2])


def test_identical_short_texts_are_linked_by_their_content_hash(tmp_path):
    db = tmp_path / "t.duckdb"
    base = _syndicated()[0]
    short = "Peskov said the talks were useful."
    early = replace(base, article_id="early", url="https://a.example/1", text=short, content_hash="h")
    late = replace(
        early, article_id="late", url="https://b.example/1", published_at=base.published_at + timedelta(1)
    )
    _store(db, [late, early])
    assert _find_copies(db, [late, early]) == 0  # too short to compare by wording
    with store.open_store(db) as con:
        assert store.link_duplicates(con) == 1
    assert _dup_of(db) == {"https://a.example/1": None, "https://b.example/1": "early"}


def _signature_sharing(base: np.ndarray, shared: int, rng: np.random.Generator) -> bytes:
    """A signature whose first ``shared`` MinHash values are ``base``'s, the rest new."""
    values = base.copy()
    values[shared:] = rng.integers(2**32, size=NUM_PERM - shared, dtype=np.uint32) | np.uint32(1)
    return values.tobytes()


def _worth_confirming(candidates, signatures):
    """likely_rows' rule, one pair at a time: the second article has no stored signature, or
    both have one and its estimated Jaccard reaches the floor."""
    return [
        (a, b)
        for a, b in candidates
        if b not in signatures
        or (
            signatures[a]
            and signatures[b]
            and estimated_jaccard(signatures[a], signatures[b]) >= ESTIMATE_FLOOR
        )
    ]


def test_likely_rows_selects_what_the_pairwise_reference_selects():
    # Around ESTIMATE_FLOOR (0.3 of 128 values is 38.4) on both sides, with empty signatures
    # in the unit, pairs inside the unit and stored articles that have no signature.
    rng = np.random.default_rng(5)
    base = rng.integers(2**32, size=NUM_PERM, dtype=np.uint32) & np.uint32(0xFFFFFFFE)
    unit = [f"u{i}" for i in range(12)]
    stored_ids = [f"s{i}" for i in range(20)]
    shares = [0, 20, 38, 39, 40, 64, 128]
    signatures = {a: _signature_sharing(base, shares[i % len(shares)], rng) for i, a in enumerate(unit)}
    signatures["u3"] = signatures["u7"] = b""
    stored = {s: _signature_sharing(base, shares[i % len(shares)], rng) for i, s in enumerate(stored_ids)}
    for unsigned in ("s2", "s11"):
        del stored[unsigned]  # stored before signatures were kept
    candidates = [(a, b) for a in unit for b in [*unit, *stored_ids] if a != b and rng.random() < 0.6]

    expected = _worth_confirming(candidates, {**stored, **signatures})

    rows = {a: i for i, a in enumerate(unit)}
    unit_values, unit_known = signature_values([signatures[a] for a in unit])
    other_values, other_known = signature_values(
        [stored.get(b, b"") if b not in rows else b"" for _, b in candidates]
    )
    article_rows = np.array([rows[a] for a, _ in candidates])
    other_rows = np.array([rows.get(b, -1) for _, b in candidates])
    keep = likely_rows(unit_values, unit_known, article_rows, other_rows, other_values, other_known)
    assert [pair for pair, kept in zip(candidates, keep, strict=True) if kept] == expected
    assert 0 < len(expected) < len(candidates)
    assert {"s2", "s11"} <= {b for _, b in expected}  # unsigned: confirmed on their text
    # An empty signature (a text too short) is confirmed only against an unsigned article.
    assert all(b in ("s2", "s11") for a, b in expected if {a, b} & {"u3", "u7"})


def test_copies_are_found_in_batches_of_any_size_and_against_articles_without_a_signature(
    tmp_path, monkeypatch
):
    one, three, two = _syndicated()
    found = {}
    for label, batch_rows in (("default", store.CANDIDATE_BATCH_ROWS), ("one pair a batch", 1)):
        db = tmp_path / f"{label}.duckdb"
        _store(db, [one, two])
        _find_copies(db, [one, two])
        with store.open_store(db) as con:
            # As stored by a version that kept no signatures: confirmed on its text instead.
            con.execute("delete from article_signatures where article_id = ?", [two.article_id])
        _store(db, [three])
        monkeypatch.setattr(store, "CANDIDATE_BATCH_ROWS", batch_rows)
        _find_copies(db, [three])
        with duckdb.connect(str(db), read_only=True) as con:
            found[label] = sorted(con.execute("select article_id, other_id from near_duplicates").fetchall())
    assert found["default"] == found["one pair a batch"]
    assert {three.article_id, two.article_id} in [set(pair) for pair in found["default"]]
    assert len(found["default"]) == 3
