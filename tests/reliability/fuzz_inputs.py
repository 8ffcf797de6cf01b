"""Seed inputs of every file type tonewatch reads, the mutations the fuzz tests apply to them, and
the hand-made extremes (10 MB lines, deep nesting, a million declared entries, odd dates).

Everything is generated here from the project's own seeds; a mutation is a function of the seed
bytes and a ``random.Random``, so a failing input is reproduced from its seed number.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

PARAGRAPHS = [
    "Kremlin spokesman Dmitry Peskov said on Monday that talks with Washington were moving in the right"
    " direction, and that both sides had agreed to keep their teams working.",
    '"The conversation was useful and businesslike," Peskov told reporters in Moscow.',
    "Ukrainian President Volodymyr Zelensky said Kyiv would not accept any agreement reached without it,"
    " and Marco Rubio said Europe would have to be at the table.",
    "Sergei Lavrov called the American position constructive but warned against new sanctions.",
]
TITLES = [
    "Peskov: talks are moving in the right direction",
    "Zelensky: nothing about Ukraine without Ukraine",
]


def _rss() -> bytes:
    items = []
    for number, title in enumerate(TITLES, start=1):
        body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
        items.append(
            f"<item><title>{title}</title><link>https://fuzz.example.org/rss/{number}</link>"
            f"<pubDate>Mon, 24 Feb 2025 09:0{number}:00 +0300</pubDate><dc:creator>Anna Petrova</dc:creator>"
            f"<description>{PARAGRAPHS[0]}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    items.append(
        "<item><title>Summary only</title><link>https://fuzz.example.org/rss/3</link>"
        f"<description>{PARAGRAPHS[2]}</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        "<channel><title>Fuzz Wire</title><link>https://fuzz.example.org/</link><language>en-us</language>"
        + "".join(items)
        + "</channel></rss>\n"
    ).encode()


def _atom() -> bytes:
    entries = "".join(
        f'<entry><title>{title}</title><link href="https://fuzz.example.org/atom/{n}"/>'
        f"<id>urn:fuzz:{n}</id><updated>2025-02-24T09:00:00Z</updated>"
        f'<content type="html">{"".join(f"&lt;p&gt;{p}&lt;/p&gt;" for p in PARAGRAPHS)}</content></entry>'
        for n, title in enumerate(TITLES, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Fuzz Atom</title><id>urn:fuzz</id><updated>2025-02-24T09:00:00Z</updated>{entries}</feed>\n"
    ).encode()


def _html() -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLES[0]} | Fuzz Times</title>
<meta property="og:site_name" content="Fuzz Times">
<meta property="article:published_time" content="2025-02-24T09:15:00+03:00">
<link rel="canonical" href="https://fuzz.example.org/page/1">
<script type="application/ld+json">
{{"@type": "NewsArticle", "datePublished": "2025-02-24T09:15:00+03:00"}}</script>
</head><body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article><h1>{TITLES[0]}</h1>
{body}
</article></main><footer><p>Copyright 2025 Fuzz Times.</p></footer></body></html>
""".encode()


def _saved_article() -> bytes:
    return (
        f"# {TITLES[1]}\n\nBy [Fuzz Wire](#)\n\nFebruary 24, 2025\n\n"
        + "\n\n".join(PARAGRAPHS)
        + "\n\nOriginal url:\n<https://fuzz.example.org/saved/1>\n"
    ).encode()


def records() -> list[dict]:
    return [
        {
            "url": f"https://fuzz.example.org/record/{n}",
            "title": TITLES[n % 2],
            "text": "\n\n".join(PARAGRAPHS[n % 4 :] + PARAGRAPHS[: n % 4]),
            "published_at": f"2025-02-2{n}T09:00:00+03:00",
            "outlet": "Fuzz Desk",
            "outlet_home": "moscow",
            "language": "en",
            "author": "Ivan Sokolov",
        }
        for n in range(1, 4)
    ]


def _jsonl() -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records()).encode()


def _json() -> bytes:
    return json.dumps({"articles": records()}, ensure_ascii=False, indent=1).encode()


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records()[0]))
    writer.writeheader()
    writer.writerows(records())
    return out.getvalue().encode()


SEEDS: dict[str, bytes] = {
    ".xml": _rss(),
    ".atom": _atom(),
    ".html": _html(),
    ".txt": _saved_article(),
    ".jsonl": _jsonl(),
    ".json": _json(),
    ".csv": _csv(),
}

Mutation = Callable[[bytes, random.Random], bytes]


def _span(data: bytes, rng: random.Random) -> tuple[int, int]:
    start = rng.randrange(len(data) + 1)
    return start, min(len(data), start + rng.randint(1, 64))


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def insert_nul(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"\x00" * rng.randint(1, 4) + data[at:]


def insert_random(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.randbytes(rng.randint(1, 32)) + data[at:]


def delete_span(data: bytes, rng: random.Random) -> bytes:
    start, end = _span(data, rng)
    return data[:start] + data[end:]


def duplicate_span(data: bytes, rng: random.Random) -> bytes:
    start, end = _span(data, rng)
    return data[:end] + data[start:end] * rng.randint(1, 20) + data[end:]


def wrong_encoding(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", errors="replace").replace("said", "sagte — «ça»")
    codec = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1251", "cp1252", "utf-8-sig"])
    return text.encode(codec, errors="replace")


def odd_characters(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", errors="replace")
    odd = rng.choice(["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r", "\u200b", "\ufeff", "\ud7ff"])
    positions = sorted(rng.randrange(len(text) + 1) for _ in range(rng.randint(1, 6)))
    for offset, at in enumerate(positions):
        text = text[: at + offset] + odd + text[at + offset :]
    return text.encode("utf-8")


def odd_dates(data: bytes, rng: random.Random) -> bytes:
    replacement = rng.choice(
        [
            b"0000-01-01T00:00:00Z", b"0001-01-01T00:00:00+05:00", b"9999-12-31T23:59:59-05:00",
            b"2999-01-01T00:00:00Z", b"-0001-01-01", b"1969-12-31T23:59:59Z", b"99999999999999",
            b"Mon, 31 Feb 2025 25:61:00 +9900", b"", b"NaN",
        ]
    )  # fmt: skip
    seed_dates = (b"2025-02-21T09:00:00+03:00", b"2025-02-22T09:00:00+03:00", b"2025-02-24T09:15:00+03:00",
                  b"2025-02-24T09:00:00Z", b"Mon, 24 Feb 2025 09:01:00 +0300",
                  b"February 24, 2025")  # fmt: skip
    for old in seed_dates:
        data = data.replace(old, replacement)
    return data


def empty_fields(data: bytes, rng: random.Random) -> bytes:
    """Every value emptied, keeping the structure (JSON strings, CSV cells, XML and HTML text)."""
    text = data.decode("utf-8", errors="replace")
    try:
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        if all(isinstance(line, dict) for line in lines) and lines:
            return "".join(json.dumps(dict.fromkeys(line, "")) + "\n" for line in lines).encode()
    except ValueError:
        pass
    import re

    return re.sub(r">[^<]+<", "><", text).replace('content="', 'content="" x="').encode()


MUTATIONS: dict[str, Mutation] = {
    f.__name__: f
    for f in (
        truncate,
        flip_bytes,
        insert_nul,
        insert_random,
        delete_span,
        duplicate_span,
        wrong_encoding,
        odd_characters,
        odd_dates,
        empty_fields,
    )  # fmt: skip
}


@dataclass(frozen=True)
class FuzzInput:
    name: str
    suffix: str
    data: bytes
    seconds: float = 5.0  # the hard deadline for reading it


def mutated(suffix: str, number: int) -> FuzzInput:
    """Mutated input ``number`` of ``suffix``'s seed: one to three stacked mutations."""
    rng = random.Random(f"{suffix}:{number}")
    data = SEEDS[suffix]
    names = [rng.choice(sorted(MUTATIONS)) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    for name in names:
        data = MUTATIONS[name](data, rng)
    return FuzzInput(f"{suffix.lstrip('.')}-{number}-{'+'.join(names)}", suffix, data)


TEN_MB = 10 * 1024 * 1024


def extremes() -> list[FuzzInput]:
    """Hand-made inputs at the limits; their deadlines allow for their size."""
    words = (b"Peskov said the talks were useful. " * (TEN_MB // 35 + 1))[:TEN_MB]
    record = {"url": "https://fuzz.example.org/huge", "title": "huge", "text": words.decode()}
    deep_json = b"[" * 200_000 + b"]" * 200_000
    return [
        FuzzInput("jsonl-10mb-line", ".jsonl", json.dumps(record).encode() + b"\n" + SEEDS[".jsonl"], 60),
        FuzzInput("csv-10mb-cell", ".csv", b"title,text\nhuge," + words + b"\n", 60),
        FuzzInput("txt-10mb-line", ".txt", b"# Huge\n\n" + words + b"\n", 60),
        FuzzInput("html-10mb-line", ".html", b"<html><body><p>" + words + b"</p></body></html>", 60),
        FuzzInput(
            "xml-10mb-line",
            ".xml",
            b'<rss version="2.0"><channel><item><title>t</title><description>'
            + words
            + b"</description></item></channel></rss>",
            60,
        ),  # fmt: skip
        FuzzInput("json-deep-200k", ".json", deep_json, 20),
        FuzzInput("jsonl-deep-200k", ".jsonl", deep_json + b"\n" + SEEDS[".jsonl"], 20),
        FuzzInput(
            "json-ld-deep",
            ".html",
            SEEDS[".html"]
            .replace(b'{"@type"', b'{"x":' * 5000 + b"{}" + b"}" * 5000 + b', {"@type"', 1)
            .replace(b'<script type="application/ld+json">', b'<script type="application/ld+json">[', 1)
            .replace(b"}</script>", b"}]</script>", 1),
            20,
        ),  # fmt: skip
        FuzzInput(
            "html-nested-100k",
            ".html",
            b"<html><body>"
            + b"<div>" * 100_000
            + b"<p>"
            + b" ".join(p.encode() for p in PARAGRAPHS)
            + b"</p>"
            + b"</div>" * 100_000
            + b"</body></html>",
            20,
        ),  # fmt: skip
        FuzzInput(
            "xml-nested-100k",
            ".xml",
            b'<rss version="2.0"><channel><item><description>'
            + b"<b>" * 100_000
            + b"</b>" * 100_000
            + b"</description></item></channel></rss>",
            20,
        ),  # fmt: skip
        FuzzInput(
            "xml-million-entries",
            ".xml",
            b'<rss version="2.0"><channel><title>Many</title>' + b"<item/>" * 1_000_000 + b"</channel></rss>",
            20,
        ),  # fmt: skip
        FuzzInput(
            "atom-million-entries",
            ".atom",
            b'<feed xmlns="http://www.w3.org/2005/Atom">'
            + b"<entry><title>t</title></entry>" * 1_000_000
            + b"</feed>",
            30,
        ),  # fmt: skip
        FuzzInput("jsonl-blank-lines", ".jsonl", b"\n \n\t\n\r\n"),
        FuzzInput("csv-header-only", ".csv", b"url,title,text\n"),
        FuzzInput("json-empty-list", ".json", b"[]"),
        FuzzInput(
            "all-empty-record", ".jsonl", b'{"url": "", "title": "", "text": "", "published_at": ""}\n'
        ),
        FuzzInput(
            "zero-width-text", ".jsonl", json.dumps({"text": "\u200b\u200c\u00ad\ufeff" * 50}).encode()
        ),
        FuzzInput("utf16-jsonl", ".jsonl", SEEDS[".jsonl"].decode().encode("utf-16")),
        FuzzInput("utf16-csv", ".csv", SEEDS[".csv"].decode().encode("utf-16")),
        FuzzInput("line-separator-jsonl", ".jsonl", SEEDS[".jsonl"].replace(b"\\n\\n", "\u2028".encode())),
        FuzzInput("random-bytes-xml", ".xml", random.Random(1).randbytes(4096)),
        FuzzInput("random-bytes-html", ".html", random.Random(2).randbytes(4096)),
    ]
