"""The analysis modules that setup.py compiles with mypyc: what the rest of the pipeline
relies on still holds when they are compiled, and a checkout never runs stale compiled code."""

from __future__ import annotations

import importlib
import pickle
import re
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tonewatch.transforms import records
from tonewatch.transforms.dedup import Fingerprint, fingerprints
from tonewatch.transforms.records import Article, Attribution, Mention, RawArticle, Reject, Sentence
from tonewatch.transforms.score import Lexicon, Thresholds

REPO = Path(__file__).resolve().parent.parent


def compiled_modules() -> list[str]:
    """The module names setup.py lists in COMPILED_MODULES (read, not imported: importing
    setup.py would run setuptools)."""
    text = (REPO / "setup.py").read_text()
    listing = re.search(r"COMPILED_MODULES = \((.*?)\)", text, re.S)
    assert listing, "setup.py no longer lists COMPILED_MODULES"
    return re.findall(r'"(\w+)"', listing.group(1))


def test_every_compiled_module_exists_as_source():
    names = compiled_modules()
    assert names, "COMPILED_MODULES is empty"
    for name in names:
        assert (REPO / "transforms" / f"{name}.py").is_file(), f"setup.py compiles a missing module: {name}"


@pytest.mark.parametrize("name", compiled_modules())
def test_a_compiled_module_in_the_checkout_is_not_older_than_its_source(name):
    # An editable install builds the extensions beside the sources; Python then imports
    # the extension, so an edit to the .py would silently not run until it is rebuilt.
    source = REPO / "transforms" / f"{name}.py"
    for extension in (REPO / "transforms").glob(f"{name}.*.so"):
        assert extension.stat().st_mtime >= source.stat().st_mtime, (
            f"{source.relative_to(REPO)} changed after {extension.name} was built from it:"
            ' run pip install -e ".[dev]" again (or delete the .so files to run the sources)'
        )


def test_the_records_the_scoring_pool_sends_survive_pickling():
    # Workers send articles, rejects and fingerprints to the storing process; a compiled
    # frozen dataclass refuses pickle's default restore, so records pickle by their fields.
    published = datetime(2025, 2, 28, 17, 30, tzinfo=UTC)
    # Forty distinct words: enough shingles for a signature (MIN_SHINGLES).
    [fingerprint] = fingerprints([" ".join(f"word{i}" for i in range(40))])
    records = [
        RawArticle("feed.xml", "https://example.org/a", "Example", published, "Title", "Text."),
        Article(
            "a1", None, "Example", "example.org", published, "Title", "Text.", "en", "h", "feed.xml", True
        ),
        Reject("feed.xml", "empty_text", "entry 3 has no text"),
        Sentence(0, 0, 5, "Text."),
        Mention("zelensky", 0, 8, "Zelensky"),
        Attribution("putin", "quote", ((1, 4),), ((0, 5),)),
        fingerprint,
        Fingerprint(b"", []),
        Thresholds(-0.2, 0.1),
        Lexicon({"ceasefire": 1.5}, Thresholds()),
    ]
    assert fingerprint.signature and fingerprint.bands
    for record in records:
        restored = pickle.loads(pickle.dumps(record))
        assert restored == record and type(restored) is type(record)


@pytest.mark.parametrize(
    "record",
    [Mention("zelensky", 0, 8, "Zelensky"), Sentence(0, 0, 5, "Text."), Attribution("putin", "quote")],
    ids=type,
)
def test_compiled_records_stay_frozen(record):
    # Their fields are Final, not frozen (a compiled __init__ of their own): compiled, the
    # attributes are read-only; pure Python leaves that to mypy, which setup.py runs.
    if Path(records.__file__).suffix != ".so":
        pytest.skip("tonewatch.transforms.records is not compiled in this install")
    field = fields(record)[1].name
    with pytest.raises(AttributeError):
        setattr(record, field, 3)
    assert record == pickle.loads(pickle.dumps(record))
    assert hash(record) == hash(type(record)(*(getattr(record, f.name) for f in fields(record))))


def test_every_compiled_module_imports():
    # A partly built install (one extension failed, the others not) fails here on import.
    for name in compiled_modules():
        importlib.import_module(f"tonewatch.transforms.{name}")
