"""Fuzzed inputs: every reader, on random, mutated and extreme files, ends in time with articles or
rejects that say why, and every article it gives survives normalizing, splitting and scoring.

Property tests (hypothesis) generate the structured cases (records, rows, feed entries, dates);
a mutation corpus built from our own seed files covers the broken ones (truncated, flipped,
re-encoded, NUL bytes, odd line separators, emptied fields); ``extremes`` covers 10 MB lines,
deep nesting and a million declared entries. One run of the real flow stores a folder of them.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import lxml.etree
import pytest
from fuzz_inputs import SEEDS, FuzzInput, extremes, mutated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import hard_deadline, store_problems, table_counts

from tonewatch.flows.config import scoring_context
from tonewatch.flows.settings import MAX_ARTICLE_CHARS
from tonewatch.flows.sources.files import read_file
from tonewatch.flows.sources.pages import read_html
from tonewatch.transforms.analyze import analyze_articles
from tonewatch.transforms.normalize import clean_text, normalize_article
from tonewatch.transforms.records import RawArticle, Reject

# A date outside these bounds is not a news article's date (see flows/sources/dates.py).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FETCHED_AT = datetime(2025, 3, 1, tzinfo=UTC)
JSON_LIST_KEYS = ("articles", "items", "data", "records")


def fuzz_settings(size, **overrides):
    options = {
        "max_examples": size.examples,
        "deadline": None,  # hard_deadline bounds each input instead, without flakiness
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    return settings(**(options | overrides))


def latest() -> datetime:
    return datetime.now(UTC) + timedelta(days=2)


def read_bounded(path: Path, seconds: float) -> tuple[list, float]:
    started = time.perf_counter()
    with hard_deadline(seconds, f"reading {path.name}"):
        items = list(read_file(path))
    return items, time.perf_counter() - started


def check_items(path: Path, items: list) -> tuple[list[RawArticle], list[Reject]]:
    """Every item is an article worth storing or a reject naming the input and a reason."""
    articles = [i for i in items if isinstance(i, RawArticle)]
    rejects = [i for i in items if isinstance(i, Reject)]
    assert len(articles) + len(rejects) == len(items), f"unexpected items: {items!r:.300}"
    for reject in rejects:
        assert isinstance(reject.reason, str) and reject.reason.strip(), reject
        # A feed entry's reject is named by its link, with the file in the detail.
        assert reject.source.startswith(str(path)) or str(path) in reject.detail, reject
        assert "\n" not in reject.reason
    for article in articles:
        assert clean_text(article.text), f"an article with no text: {article!r:.200}"
        assert len(article.text) <= MAX_ARTICLE_CHARS
        if article.published_at is not None:
            moment = article.published_at
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            assert EARLIEST <= moment <= latest(), f"implausible date kept: {moment!r}"
    return articles, rejects


def analyze(articles: list[RawArticle]) -> None:
    """Normalize, split, match, attribute and score: no input may break a later stage."""
    # One article per id, as the pipeline keeps the first copy of an id it reads.
    by_id = {}
    for raw in articles:
        article = normalize_article(raw, fetched_at=FETCHED_AT)
        by_id.setdefault(article.article_id, article)
    normalized = list(by_id.values())
    for article in normalized:
        assert article.text, f"normalizing emptied the text of {article.source}"
    rows = analyze_articles(normalized, scoring_context())
    texts = {a.article_id: a.text for a in normalized}
    for article_id, start, end, text in zip(
        rows.sentences["article_id"], rows.sentences["start"], rows.sentences["end"], rows.sentences["text"],
        strict=True,
    ):  # fmt: skip
        assert texts[article_id][start:end] == text


def _decoded(data: bytes) -> str | None:
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def holds_no_record(item: FuzzInput) -> bool:
    """True when the input holds nothing to read: the one case where no reject is due."""
    text = _decoded(item.data) or ""
    if not text.strip():
        return True
    if item.suffix == ".jsonl":
        return not any(line.strip() for line in text.split("\n"))
    if item.suffix == ".csv":
        return sum(1 for line in text.splitlines() if line.strip()) < 2
    if item.suffix == ".json":
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            return False
        if isinstance(document, dict):
            document = next((document[k] for k in JSON_LIST_KEYS if isinstance(document.get(k), list)), None)
        return document == []
    if item.suffix in (".xml", ".atom"):
        parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = lxml.etree.fromstring(item.data, parser)
        except lxml.etree.XMLSyntaxError:
            return False  # not well-formed: a reject must say so
        return not any(
            e.tag.rsplit("}", 1)[-1] in ("item", "entry") for e in root.iter() if isinstance(e.tag, str)
        )
    return False


def check_input(item: FuzzInput, folder: Path, figures) -> None:
    path = folder / f"{item.name}{item.suffix}"
    path.write_bytes(item.data)
    items, seconds = read_bounded(path, item.seconds)
    articles, rejects = check_items(path, items)
    if not items:
        assert holds_no_record(item), f"{item.name}: read to nothing, with no reject to say why"
    if item.suffix == ".jsonl" and not any(r.source == str(path) for r in rejects):
        lines = [line for line in (_decoded(item.data) or "").split("\n") if line.strip()]
        assert len(items) == len(lines), f"{item.name}: {len(lines)} lines gave {len(items)} items"
    analyze(articles)
    path.unlink()
    figures["fuzz inputs read"] += 1
    figures["fuzz articles"] += len(articles)
    figures["fuzz rejects"] += len(rejects)
    figures["fuzz slowest input (s)"] = max(figures["fuzz slowest input (s)"], seconds)


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_seed_inputs_are_read_whole(suffix, tmp_path):
    path = tmp_path / f"seed{suffix}"
    path.write_bytes(SEEDS[suffix])
    items, _ = read_bounded(path, 10)
    articles, rejects = check_items(path, items)
    assert rejects == [] and len(articles) == {".xml": 3, ".atom": 2, ".html": 1, ".txt": 1}.get(suffix, 3)
    analyze(articles)


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_mutated_inputs_end_in_articles_or_rejects(suffix, size, tmp_path, figures):
    for number in range(size.mutations):
        item = mutated(suffix, number)
        try:
            check_input(item, tmp_path, figures)
        except AssertionError as error:
            raise AssertionError(f"mutated({suffix!r}, {number}) [{item.name}]: {error}") from error


@pytest.mark.parametrize("item", extremes(), ids=lambda item: item.name)
def test_extreme_inputs_end_in_time(item, tmp_path, figures):
    check_input(item, tmp_path, figures)


def test_extreme_inputs_say_why(tmp_path):
    """The extremes that must be rejected are, with the reason a user can act on."""
    reasons = {}
    for item in extremes():
        path = tmp_path / f"{item.name}{item.suffix}"
        path.write_bytes(item.data)
        items, _ = read_bounded(path, item.seconds)
        reasons[item.name] = sorted({i.reason for i in items if isinstance(i, Reject)})
        path.unlink()
    assert reasons["jsonl-10mb-line"] == ["too large"]
    assert reasons["txt-10mb-line"] == ["too large"]
    assert reasons["json-deep-200k"] == ["not valid JSON"]
    assert reasons["jsonl-deep-200k"] == ["not valid JSON"]
    assert "too many entries" in reasons["xml-million-entries"]
    assert "too many entries" in reasons["atom-million-entries"]
    assert reasons["all-empty-record"] == ["bad field"]  # "field 'text' must be a string, got None"
    assert reasons["zero-width-text"] == ["empty text"]
    assert reasons["utf16-jsonl"] == reasons["utf16-csv"] == []
    assert reasons["line-separator-jsonl"] == []


# --- property tests --------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
TEXTS = st.text(max_size=300) | st.sampled_from(
    ["", " ", "\u200b", "\x00", "\u2028", "Peskov said.\u2028More."]
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "url": st.text(max_size=40) | st.just("https://fuzz.example.org/x") | JSON_VALUES,
        "title": st.text(max_size=60) | JSON_VALUES,
        "text": TEXTS | JSON_VALUES,
        "published_at": st.text(max_size=30) | st.integers() | st.floats(allow_nan=False) | JSON_VALUES,
        "outlet": st.text(max_size=20),
        "outlet_home": st.text(max_size=12),
        "language": st.text(max_size=6),
        "author": st.text(max_size=20) | JSON_VALUES,
    },
)


def test_any_bytes_under_any_suffix(size, tmp_path, figures):
    @fuzz_settings(size)
    @given(data=st.binary(max_size=4096), suffix=st.sampled_from(sorted(SEEDS)))
    def check(data, suffix):
        check_input(FuzzInput("bytes", suffix, data), tmp_path, figures)

    check()


def test_every_jsonl_record_gives_one_article_or_one_reject(size, tmp_path, figures):
    @fuzz_settings(size)
    @given(records=st.lists(RECORDS, max_size=6), ascii_only=st.booleans(), crlf=st.booleans())
    def check(records, ascii_only, crlf):
        ending = "\r\n" if crlf else "\n"
        data = "".join(json.dumps(r, ensure_ascii=ascii_only) + ending for r in records).encode()
        path = tmp_path / "records.jsonl"
        path.write_bytes(data)
        items, _ = read_bounded(path, 5)
        articles, _ = check_items(path, items)
        assert len(items) == len(records)
        for record, item in zip(records, items, strict=True):
            text = record.get("text")
            usable = isinstance(text, str) and bool(clean_text(text))
            if not usable:
                assert isinstance(item, Reject)
            if isinstance(item, RawArticle):
                assert item.text == text
        analyze(articles)
        figures["fuzz inputs read"] += 1
        figures["fuzz articles"] += len(articles)

    check()


def test_every_csv_row_gives_one_article_or_one_reject(size, tmp_path, figures):
    cells = st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=80
    )

    @fuzz_settings(size)
    @given(rows=st.lists(st.tuples(cells, cells, cells), max_size=6))
    def check(rows):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["url", "title", "text"])
        writer.writerows(rows)
        path = tmp_path / "rows.csv"
        path.write_text(out.getvalue(), encoding="utf-8", newline="")
        items, _ = read_bounded(path, 5)
        articles, _ = check_items(path, items)
        assert len(items) == len(rows), f"{len(rows)} rows gave {items!r:.300}"
        for (_url, _title, text), item in zip(rows, items, strict=True):
            assert isinstance(item, RawArticle) == bool(clean_text(text))
        analyze(articles)
        figures["fuzz inputs read"] += 1
        figures["fuzz articles"] += len(articles)

    check()


XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\ufffe\uffff"),
    max_size=200,
)
RFC822_DATES = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: (
        f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][d.weekday()]}, {d.day:02d}"
        f" {d:%b} {d.year:04d} {d:%H:%M:%S} +0000"
    )
)
ENTRIES = st.lists(
    st.fixed_dictionaries(
        {"title": XML_TEXT, "description": XML_TEXT},
        optional={
            "content": XML_TEXT,
            "pubDate": RFC822_DATES | XML_TEXT,
            "link": st.just("https://fuzz.example.org/e"),
        },
    ),
    max_size=6,
)


def test_every_feed_entry_gives_one_article_or_one_reject(size, tmp_path, figures):
    @fuzz_settings(size)
    @given(entries=ENTRIES)
    def check(entries):
        items_xml = "".join(
            "<item>"
            + "".join(
                f"<content:encoded>{escape(v)}</content:encoded>"
                if k == "content"
                else f"<{k}>{escape(v)}</{k}>"
                for k, v in entry.items()
            )
            + "</item>"
            for entry in entries
        )
        data = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>F</title>'
            f"{items_xml}</channel></rss>"
        ).encode()
        path = tmp_path / "feed.xml"
        path.write_bytes(data)
        items, _ = read_bounded(path, 5)
        articles, _ = check_items(path, items)
        assert len(items) == len(entries), f"{len(entries)} entries gave {items!r:.300}"
        analyze(articles)
        figures["fuzz inputs read"] += 1
        figures["fuzz articles"] += len(articles)

    check()


def test_any_saved_article_text_gives_one_item(size, tmp_path, figures):
    @fuzz_settings(size)
    @given(text=st.text(max_size=2000))
    def check(text):
        path = tmp_path / "saved.md"
        path.write_text(text, encoding="utf-8")
        items, _ = read_bounded(path, 5)
        articles, _ = check_items(path, items)
        assert len(items) == 1
        analyze(articles)
        figures["fuzz inputs read"] += 1

    check()


def test_any_html_page_gives_one_item(size, figures):
    tags = st.sampled_from(["p", "div", "b", "script", "style", "article", "main", "li", "table", "td", "a"])
    fragments = st.recursive(
        XML_TEXT.map(escape),
        lambda inner: st.tuples(tags, st.lists(inner, max_size=4)).map(
            lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"
        ),
        max_leaves=30,
    )

    @fuzz_settings(size)
    @given(
        body=fragments, title=XML_TEXT, charset=st.sampled_from(["utf-8", "latin-1", "cp1251", "bogus", ""])
    )
    def check(body, title, charset):
        head = f'<meta charset="{charset}"><title>{escape(title)}</title>'
        page = f"<html><head>{head}</head><body>{body}</body></html>"
        data = page.encode("utf-8")
        with hard_deadline(5, "read_html"):
            item = read_html(data, source="page.html", url="https://fuzz.example.org/p")
        articles, _ = check_items(Path("page.html"), [item])
        analyze(articles)
        figures["fuzz inputs read"] += 1

    check()


OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
ANY_MOMENT = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=OFFSETS
)


def is_plausible(moment: datetime) -> bool:
    try:
        return EARLIEST <= moment.astimezone(UTC) <= latest()
    except OverflowError:
        return False


def test_a_record_of_any_date_is_stored_with_it_or_rejected_as_a_bad_date(size, tmp_path, figures):
    @fuzz_settings(size)
    @given(moment=ANY_MOMENT)
    def check(moment):
        record = {"url": "https://fuzz.example.org/d", "text": "Peskov said the talks were useful.",
                  "published_at": moment.isoformat()}  # fmt: skip
        path = tmp_path / "dated.jsonl"
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        items, _ = read_bounded(path, 5)
        articles, rejects = check_items(path, items)
        if is_plausible(moment):
            assert [a.published_at for a in articles] == [moment]
        else:
            assert [r.reason for r in rejects] == ["bad date"]
        analyze(articles)
        figures["fuzz inputs read"] += 1

    check()


def test_a_page_or_feed_of_any_date_keeps_only_a_plausible_one(size, tmp_path, figures):
    @fuzz_settings(size)
    @given(moment=ANY_MOMENT)
    def check(moment):
        stamp = moment.isoformat()
        page = SEEDS[".html"].replace(b"2025-02-24T09:15:00+03:00", stamp.encode())
        feed = SEEDS[".atom"].replace(b"2025-02-24T09:00:00Z", stamp.encode())
        for name, data in (("page.html", page), ("feed.atom", feed)):
            path = tmp_path / name
            path.write_bytes(data)
            items, _ = read_bounded(path, 5)
            articles, _ = check_items(path, items)
            assert articles, f"{name} dated {stamp}: {items!r:.300}"
            analyze(articles)
        figures["fuzz inputs read"] += 2

    check()


# --- through the real flow -------------------------------------------------------------------


def test_a_folder_of_fuzzed_files_is_stored_once_with_every_reject(prefect_harness, size, tmp_path, figures):
    from tonewatch.flows.orchestration import run_flow_cleanly
    from tonewatch.flows.pipeline import pipeline_flow

    folder = tmp_path / "fuzzed"
    folder.mkdir()
    small_extremes = [e for e in extremes() if len(e.data) < 2_000_000]
    suffixes = sorted(SEEDS)
    inputs = [FuzzInput(f"seed{s}", s, SEEDS[s]) for s in suffixes] + small_extremes
    inputs += [mutated(suffixes[n % len(suffixes)], 10_000 + n) for n in range(size.flow_fuzz_files)]
    expected_ids, expected_rejects = set(), 0
    for item in inputs:
        path = folder / f"{item.name}{item.suffix}"
        path.write_bytes(item.data)
        items, _ = read_bounded(path, item.seconds)
        articles, rejects = check_items(path, items)
        expected_ids |= {normalize_article(a, fetched_at=FETCHED_AT).article_id for a in articles}
        expected_rejects += len(rejects)
    db_path = tmp_path / "fuzz.duckdb"
    summary, _ = run_flow_cleanly(
        pipeline_flow,
        expected_task_runs=lambda s: s.task_runs,
        sources=[str(folder)],
        db_path=str(db_path),
        report_path=str(tmp_path / "reports" / "latest.html"),
        fetch_pages=False,  # a saved feed's summary-only entries would fetch pages off loopback
        workers=1,  # a process pool costs more to start than these files take to score
    )
    counts = table_counts(db_path)
    assert counts["articles"] == len(expected_ids)
    assert counts["rejects"] == expected_rejects == summary.counts["rejects"]
    assert store_problems(db_path) == {}
    assert (tmp_path / "reports" / "latest.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    figures["fuzz files through the flow"] += len(inputs)


@pytest.mark.parametrize(
    "url",
    [
        "http://[broken/story",  # unbalanced IPv6 bracket: urlsplit raises
        "http://example.org:99999/story",  # port out of range
        "http://example.org:port/story",  # port not a number
        "https://[::1]:8080/story",
        "javascript:alert(1)",
        " HTTPS://Example.ORG/Story?utm_source=x#frag ",
        "\x00http://example.org/",
    ],
)
def test_odd_urls_in_records_never_break_reading_or_normalizing(url, tmp_path):
    from tonewatch.flows.ingest_config import SourceSpec, load_config
    from tonewatch.flows.sources import finish_article

    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"url": url, "text": "Peskov said the talks were useful."}) + "\n")
    items, _ = read_bounded(path, 5)
    articles, _ = check_items(path, items)
    assert len(articles) == 1
    finished = finish_article(articles[0], SourceSpec(str(path)), load_config())
    assert normalize_article(finished, fetched_at=FETCHED_AT).text == "Peskov said the talks were useful."
