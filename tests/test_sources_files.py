"""Local file sources: the saved-article shape, JSON lines, and rejects that name the file and problem."""

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tonewatch.flows.sources import read_path
from tonewatch.flows.sources.files import iter_source_files, parse_saved_article, read_file
from tonewatch.transforms.normalize import to_utc
from tonewatch.transforms.records import RawArticle, Reject

SHARED_DATA = Path(
    os.environ.get("TONEWATCH_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
SEED_ARTICLE = SHARED_DATA / "seed" / "kremlin-hails-putin-trump-dialogue.txt"

SAVED_ARTICLE = """

# Negotiators Meet Again in Istanbul

By [Example Wire](#)

February 23, 2025



Delegations arrive at the palace on Sunday **Jane Doe / Example Wire**

Negotiators from Moscow and Kyiv met in Istanbul on Sunday for a second round of talks.

"We expect a long day," Lavrov told reporters, calling the agenda **ambitious**.

The full [statement](https://example.org/statement) was published later.

Original url:

<https://www.example-news.com/2025/02/23/negotiators-meet-again>
"""
SAVED_BODY = [
    "Negotiators from Moscow and Kyiv met in Istanbul on Sunday for a second round of talks.",
    '"We expect a long day," Lavrov told reporters, calling the agenda ambitious.',
    "The full statement was published later.",
]


def test_parse_saved_article():
    article = parse_saved_article(SAVED_ARTICLE, source="saved.txt")
    assert isinstance(article, RawArticle)
    assert (article.source, article.title, article.published_at) == (
        "saved.txt",
        "Negotiators Meet Again in Istanbul",
        datetime(2025, 2, 23),
    )
    assert (article.url, article.outlet) == (
        "https://www.example-news.com/2025/02/23/negotiators-meet-again",
        "example-news.com",
    )
    assert article.text == "\n\n".join(SAVED_BODY)


def _variant(old: str, new: str) -> str:
    assert old in SAVED_ARTICLE
    return SAVED_ARTICLE.replace(old, new)


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        pytest.param(
            _variant("Original url:\n\n<", "Original url: <"),
            "url",
            "https://www.example-news.com/2025/02/23/negotiators-meet-again",
            id="url-on-the-same-line",
        ),
        pytest.param(
            _variant(
                "By [Example Wire](#)\n\nFebruary 23, 2025", "February 23, 2025\n\nBy [Example Wire](#)"
            ),
            "published_at",
            datetime(2025, 2, 23),
            id="date-before-byline",
        ),
        pytest.param(
            _variant(
                "Original url:\n\n<https://www.example-news.com/2025/02/23/negotiators-meet-again>\n", ""
            ),
            "outlet",
            "Example Wire",
            id="outlet-from-byline-without-url",
        ),
        pytest.param(
            _variant("February 23, 2025", "23 February 2025 10:45 GMT"),
            "published_at",
            datetime(2025, 2, 23, 10, 45, tzinfo=UTC),
            id="date-with-time-and-zone",
        ),
        pytest.param(_variant("February 23, 2025\n", ""), "published_at", None, id="no-date-line"),
        pytest.param(
            _variant("**Jane Doe / Example Wire**", "**AP Photo/John Roe**"),
            "text",
            "\n\n".join(SAVED_BODY),
            id="ap-photo-credit-dropped",
        ),
        pytest.param(
            _variant("**Jane Doe / Example Wire**", "**Kremlin press service via TASS**"),
            "text",
            "\n\n".join(SAVED_BODY),
            id="via-credit-dropped",
        ),
    ],
)
def test_saved_article_variants(text, field, expected):
    article = parse_saved_article(text, source="saved.md")
    assert getattr(article, field) == expected


# ---------------------------------------------------------------- the real seed file


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED_ARTICLE.is_file():
        pytest.skip(f"seed article not found at {SEED_ARTICLE} (set TONEWATCH_SHARED_DATA)")
    return SEED_ARTICLE.read_text(encoding="utf-8")


_CREDIT = re.compile(r"\*\*[^*]+\*\*\s*$")
_DATE_LINE = "February 23, 2025"


def test_seed_article_header_fields(seed_text):
    article = parse_saved_article(seed_text, source=str(SEED_ARTICLE))
    lines = [line.strip() for line in seed_text.splitlines() if line.strip()]
    assert article.title == next(line for line in lines if line.startswith("#")).lstrip("#").strip()
    assert article.published_at is not None and article.published_at.date() == date(2025, 2, 23)
    assert article.url == next(line for line in lines if line.startswith("<https://")).strip("<>")
    assert urlsplit(article.url).hostname == "www.themoscowtimes.com"
    assert article.outlet == "themoscowtimes.com"


def test_seed_article_drops_caption_and_keeps_every_body_paragraph(seed_text):
    article = parse_saved_article(seed_text, source=str(SEED_ARTICLE))
    lines = [line.strip() for line in seed_text.splitlines() if line.strip()]
    captions = [line for line in lines if _CREDIT.search(line)]
    assert len(captions) == 1
    caption = captions[0]
    credit = _CREDIT.search(caption).group()
    caption_words = caption[: -len(credit)].strip()
    assert caption not in article.text
    assert credit.strip("* ") not in article.text
    # The caption repeats a body sentence: once in the body is right, twice means it was kept.
    assert article.text.count(caption_words) == seed_text.count(caption_words) - 1
    header = {lines[0], lines[1], _DATE_LINE, caption, "Original url:", "<" + str(article.url) + ">"}
    assert article.text.split("\n\n") == [line for line in lines if line not in header]


# ---------------------------------------------------------------- read_file and folders


GOOD_LINE = (
    '{"url": "https://news.example.com/a", "title": "Talks resume", "text": "Peskov spoke on Sunday.", '
    '"published_at": "2025-02-23T13:30:00+03:00", "outlet": "Example News"}'
)
OTHER_GOOD_LINE = '{"title": "Kyiv replies", "text": "Kyiv replied on Monday."}'


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"title": "Broken", "text": ', r"^not valid JSON: .* at column \d+$"),
        ("[1, 2, 3]", r"^not a JSON object: got list$"),
        ('{"title": "No text"}', r"^bad field: field 'text' must be a string, got None$"),
        ('{"title": 5, "text": "Kyiv replied."}', r"^bad field: field 'title' must be a string, got 5$"),
        ('{"title": "Blank", "text": "   "}', r"^empty text$"),
        (
            '{"title": "Undated", "text": "Kyiv replied.", "published_at": "someday"}',
            r"^bad date: field 'published_at' is not a date: 'someday'$",
        ),
    ],
    ids=["truncated-json", "not-an-object", "missing-text", "title-not-string", "blank-text", "bad-date"],
)
def test_jsonl_bad_line_is_a_reject_and_good_lines_are_read(tmp_path, bad_line, reason):
    path = tmp_path / "batch.jsonl"
    path.write_text(f"{GOOD_LINE}\n{bad_line}\n\n{OTHER_GOOD_LINE}\n", encoding="utf-8")
    first, reject, second = read_file(path)
    assert isinstance(reject, Reject)
    assert reject.source == f"{path}:2"
    # The reason is what the run summary counts; the detail says what exactly was wrong.
    message = f"{reject.reason}: {reject.detail}" if reject.detail else reject.reason
    assert re.search(reason, message), message
    assert (first.title, first.source) == ("Talks resume", f"{path}:1")
    assert (second.title, second.source) == ("Kyiv replies", f"{path}:4")


def test_jsonl_fields(tmp_path):
    path = tmp_path / "batch.ndjson"
    path.write_text(GOOD_LINE + "\n" + OTHER_GOOD_LINE + "\n", encoding="utf-8")
    first, second = read_file(path)
    assert (first.url, first.outlet, first.text) == (
        "https://news.example.com/a",
        "Example News",
        "Peskov spoke on Sunday.",
    )
    assert to_utc(first.published_at) == datetime(2025, 2, 23, 10, 30, tzinfo=UTC)
    assert (second.url, second.outlet, second.published_at) == (None, None, None)


@pytest.mark.parametrize(
    ("name", "content", "reason", "detail"),
    [
        ("latin1.txt", "# Titre\n\nCaf\u00e9 Kyiv.\n".encode("latin-1"), "not UTF-8 text", r"^byte 12: "),
        (
            "latin1.jsonl",
            '{"title": "Caf\u00e9", "text": "x"}\n'.encode("latin-1"),
            "not UTF-8 text",
            r"^byte \d+",
        ),
        ("empty.txt", b"", "empty text", r"^$"),
        ("blank.md", b"\n  \n\n", "empty text", r"^$"),
        ("title-only.txt", b"# Only a title\n", "empty text", r"^$"),
        ("scan.pdf", b"%PDF-1.7", "unsupported file type", r"^\.pdf; expected one of .*\.jsonl, \.md"),
        ("NOTES", b"Peskov spoke.", "unsupported file type", r"^no suffix; expected one of"),
    ],
    ids=[
        "non-utf8-text",
        "non-utf8-jsonl",
        "empty-text-file",
        "blank-markdown",
        "title-only",
        "pdf",
        "no-suffix",
    ],
)
def test_unusable_file_is_one_reject_naming_it(tmp_path, name, content, reason, detail):
    path = tmp_path / name
    path.write_bytes(content)
    (reject,) = read_file(path)
    assert isinstance(reject, Reject)
    assert (reject.source, reject.reason) == (str(path), reason)
    assert re.search(detail, reject.detail), reject.detail


def test_byte_order_mark_is_not_part_of_the_title(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("# Short Note\n\nKyiv replied on Monday.\n", encoding="utf-8-sig")
    (article,) = read_file(path)
    assert (article.title, article.text) == ("Short Note", "Kyiv replied on Monday.")


def test_empty_jsonl_reads_nothing(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert list(read_file(path)) == []


def test_iter_source_files_skips_hidden_files_and_folder_docs(tmp_path):
    for name in [
        "a-article.txt",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        ".draft.txt",
        ".git/objects.txt",
        "sub/b-batch.jsonl",
        "sub/readme.txt",
        "sub/.hidden/c.md",
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Peskov spoke.", encoding="utf-8")
    found = [str(p.relative_to(tmp_path)) for p in iter_source_files(tmp_path)]
    assert found == ["a-article.txt", "sub/b-batch.jsonl"]
    assert list(iter_source_files(tmp_path / "README.md")) == [tmp_path / "README.md"]


def test_read_path_missing_source_is_a_reject(tmp_path):
    missing = tmp_path / "nowhere"
    assert list(read_path(missing)) == [Reject(str(missing), "no such file or folder")]


def test_read_path_reads_a_folder(tmp_path):
    (tmp_path / "one.md").write_text(SAVED_ARTICLE, encoding="utf-8")
    (tmp_path / "two.jsonl").write_text(OTHER_GOOD_LINE + "\nnot json\n", encoding="utf-8")
    results = list(read_path(tmp_path))
    assert [type(r).__name__ for r in results] == ["RawArticle", "RawArticle", "Reject"]
    assert results[2].source == f"{tmp_path / 'two.jsonl'}:2"
