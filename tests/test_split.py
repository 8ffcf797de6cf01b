"""Sentence splitting on news text: titles, initials, decimals, quotes, paragraphs, offsets."""

import contextlib
import json
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tonewatch.flows.settings import SAMPLE_CORPUS
from tonewatch.transforms.normalize import clean_text
from tonewatch.transforms.split import paragraph_starts, split_sentences

# Hypothesis imports libcst when a property fails, and libcst warns (DeprecationWarning from
# mypy_extensions); under filterwarnings=error that turns a failing example into an INTERNALERROR.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    with contextlib.suppress(ImportError):  # without libcst Hypothesis skips the patch anyway
        import hypothesis.extra._patching  # noqa: F401


def split_texts(text: str) -> list[str]:
    """The sentence texts, after checking every sentence's offsets and index."""
    sentences = split_sentences(text)
    for index, sentence in enumerate(sentences):
        assert sentence.sentence_idx == index
        assert text[sentence.start : sentence.end] == sentence.text
    return [sentence.text for sentence in sentences]


def _row(text, expected, id, xfail=None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(text, expected, id=id, marks=marks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        _row(
            "Mr. Peskov said the talks were useful. Gen. Syrskyi disagreed.",
            ["Mr. Peskov said the talks were useful.", "Gen. Syrskyi disagreed."],
            id="titles-mr-gen",
        ),
        _row(
            "Rep. Smith and Sen. Jones met Gov. Brown on Jan. 5 in Washington.",
            ["Rep. Smith and Sen. Jones met Gov. Brown on Jan. 5 in Washington."],
            id="titles-rep-sen-gov-and-jan",
        ),
        _row(
            "He met Dr. Ivanova and Prof. Klimenko in Kyiv. Both declined to comment.",
            ["He met Dr. Ivanova and Prof. Klimenko in Kyiv.", "Both declined to comment."],
            id="titles-dr-prof",
        ),
        _row(
            "Talks are planned for Sept. 3 in Riyadh, officials said.",
            ["Talks are planned for Sept. 3 in Riyadh, officials said."],
            id="month-abbreviation-mid-sentence",
        ),
        _row(
            "The meeting was held on Jan. 15. It lasted an hour.",
            ["The meeting was held on Jan. 15.", "It lasted an hour."],
            id="month-abbreviation-then-sentence-end",
        ),
        _row(
            "Sanctions imposed by the U.S. and the EU remain in place.",
            ["Sanctions imposed by the U.S. and the EU remain in place."],
            id="us-mid-sentence",
        ),
        _row(
            "The U.S. delegation arrived late. Officials waited in the lobby.",
            ["The U.S. delegation arrived late.", "Officials waited in the lobby."],
            id="us-as-adjective",
        ),
        _row(
            "The talks were hosted by the U.S. The Kremlin declined to comment.",
            ["The talks were hosted by the U.S.", "The Kremlin declined to comment."],
            id="us-ends-sentence-before-the",
        ),
        _row(
            "He studied in the U.S. He moved to Kyiv in 2014.",
            ["He studied in the U.S.", "He moved to Kyiv in 2014."],
            id="us-ends-sentence-before-he",
        ),
        _row(
            "Sen. Lindsey Graham said on Jan. 12 that the U.S.-led effort would continue.",
            ["Sen. Lindsey Graham said on Jan. 12 that the U.S.-led effort would continue."],
            id="us-led-compound",
        ),
        _row(
            "The resolution went to the U.N. Security Council on Friday.",
            ["The resolution went to the U.N. Security Council on Friday."],
            id="un-security-council",
        ),
        _row(
            "Talks ended at 5 p.m. The Kremlin said nothing.",
            ["Talks ended at 5 p.m.", "The Kremlin said nothing."],
            id="pm-ends-sentence",
        ),
        _row(
            "Talks ended at 5 p.m. on Friday in Istanbul.",
            ["Talks ended at 5 p.m. on Friday in Istanbul."],
            id="pm-mid-sentence",
        ),
        _row(
            "Donald J. Trump spoke on Monday. Putin listened.",
            ["Donald J. Trump spoke on Monday.", "Putin listened."],
            id="middle-initial",
        ),
        _row(
            "J.D. Vance spoke first. Rubio followed him.",
            ["J.D. Vance spoke first.", "Rubio followed him."],
            id="initials-jd",
        ),
        _row(
            "Inflation rose 2.5% in March. Prices fell 0.3 points in April.",
            ["Inflation rose 2.5% in March.", "Prices fell 0.3 points in April."],
            id="decimal-percent",
        ),
        _row(
            "Aid rose to $1.5 billion. Analysts were surprised.",
            ["Aid rose to $1.5 billion.", "Analysts were surprised."],
            id="decimal-money",
        ),
        _row(
            "The ruble fell 3.2 percent against the dollar on Monday.",
            ["The ruble fell 3.2 percent against the dollar on Monday."],
            id="decimal-mid-sentence",
        ),
        _row(
            "He met St. Petersburg officials. Later he flew home.",
            ["He met St. Petersburg officials.", "Later he flew home."],
            id="saint-abbreviation",
        ),
        _row(
            "Talks ended on Friday. 2025 will be different, officials said.",
            ["Talks ended on Friday.", "2025 will be different, officials said."],
            id="next-sentence-starts-with-number",
        ),
        _row(
            '"We are ready." Peskov said nothing more.',
            ['"We are ready."', "Peskov said nothing more."],
            id="quote-ends-sentence",
        ),
        _row(
            '"We are ready," Peskov said. "The ball is in their court."',
            ['"We are ready," Peskov said.', '"The ball is in their court."'],
            id="attributed-quote-then-quote",
        ),
        _row(
            'Peskov called the remarks "inappropriate." Kyiv did not respond.',
            ['Peskov called the remarks "inappropriate."', "Kyiv did not respond."],
            id="quoted-word-ends-sentence",
        ),
        _row(
            '"This is one sentence. This is another," Peskov said.',
            ['"This is one sentence.', 'This is another," Peskov said.'],
            id="quote-spans-two-sentences",
        ),
        _row(
            '"Why now?" he asked.',
            ['"Why now?" he asked.'],
            id="question-in-quote-then-pronoun-attribution",
        ),
        _row(
            '"Enough!" she shouted. The room fell silent.',
            ['"Enough!" she shouted.', "The room fell silent."],
            id="exclamation-in-quote-then-pronoun-attribution",
        ),
        _row(
            '"Why now?" asked Peskov.',
            ['"Why now?" asked Peskov.'],
            id="question-in-quote-then-inverted-attribution",
        ),
        _row(
            '"Why now?" Peskov asked.',
            ['"Why now?" Peskov asked.'],
            id="question-in-quote-then-named-attribution",
        ),
        _row(
            '"Is this peace?" Zelensky wrote on Telegram. Nobody answered.',
            ['"Is this peace?" Zelensky wrote on Telegram.', "Nobody answered."],
            id="question-in-quote-then-named-attribution-2",
        ),
        _row(
            'He asked: "Why now?" Nobody answered.',
            ['He asked: "Why now?"', "Nobody answered."],
            id="question-in-quote-ends-sentence",
        ),
        _row(
            "Is this the end of the war? Nobody knows.",
            ["Is this the end of the war?", "Nobody knows."],
            id="question-mark",
        ),
        _row(
            "'We are ready,' he said. Talks resumed.",
            ["'We are ready,' he said.", "Talks resumed."],
            id="single-quotes",
        ),
        _row(
            "(The figures are disputed.) Kyiv gave no numbers.",
            ["(The figures are disputed.)", "Kyiv gave no numbers."],
            id="parenthesised-sentence",
        ),
        _row(
            "Kremlin hails dialogue\nThe Kremlin on Sunday hailed the talks.",
            ["Kremlin hails dialogue", "The Kremlin on Sunday hailed the talks."],
            id="headline-line-without-period",
        ),
        _row(
            "Peskov spoke first. Lavrov followed.\n\nZelensky replied on Telegram.",
            ["Peskov spoke first.", "Lavrov followed.", "Zelensky replied on Telegram."],
            id="paragraphs",
        ),
        _row(
            "Aid was approved by the U.S.\nThe Kremlin objected.",
            ["Aid was approved by the U.S.", "The Kremlin objected."],
            id="abbreviation-at-line-end",
        ),
        _row(
            "Peskov said the talks with Washington\nwere useful but slow.",
            ["Peskov said the talks with Washington\nwere useful but slow."],
            id="hard-wrapped-line-continues-lowercase",
        ),
        _row(
            "  Peskov spoke first. Lavrov followed.",
            ["Peskov spoke first.", "Lavrov followed."],
            id="leading-whitespace-of-a-line",
        ),
        _row("The text ends without punctuation", ["The text ends without punctuation"], id="no-final-stop"),
        _row("", [], id="empty"),
        _row("  \n\n \n", [], id="only-whitespace"),
    ],
)
def test_split_sentences(text, expected):
    assert split_texts(text) == expected


def _corpus_texts() -> list[str]:
    return [json.loads(line)["text"] for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines()]


def test_offsets_index_the_text_across_the_sample_corpus():
    for text in _corpus_texts():
        sentences = split_sentences(text)
        assert sentences
        for sentence in sentences:
            assert text[sentence.start : sentence.end] == sentence.text
        # Every paragraph's first sentence starts at the paragraph's start.
        assert paragraph_starts(text) <= {s.start for s in sentences}


_NEWS_TOKENS = st.sampled_from(
    [
        "Mr.", "Gen.", "U.S.", "U.S.-led", "Jan.", "J.", "2.5%", "p.m.", "The", "the", "Kremlin",
        "Peskov", "said.", "he", "asked.", '"Why', 'now?"', '"We', 'are', 'ready,"', "ready.",
        "Why?", "No!", "(Yes.)", "'Maybe.'", "...", "\n", "\n\n", "  ", "\t", "e.g.", "v.", "A.",
    ]
)  # fmt: skip
_TEXTS = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(list("aA .?!\"'()\n\t5U")), max_size=120),
    st.lists(_NEWS_TOKENS, max_size=40).map(" ".join),
)


def _check_spans(text: str) -> None:
    sentences = split_sentences(text)
    previous_end = 0
    for index, sentence in enumerate(sentences):
        assert sentence.sentence_idx == index
        assert previous_end <= sentence.start < sentence.end <= len(text)
        assert text[sentence.start : sentence.end] == sentence.text
        previous_end = sentence.end
    # Nothing but whitespace is left out between and around sentences.
    covered = "".join(text[s.start : s.end] for s in sentences)
    assert "".join(covered.split()) == "".join(text.split())


@settings(max_examples=300, deadline=None, database=None)
@given(_TEXTS)
def test_sentences_are_ordered_disjoint_slices_of_any_text(text):
    _check_spans(text)


@settings(max_examples=300, deadline=None, database=None)
@given(_TEXTS)
def test_sentence_texts_are_stripped_in_normalized_text(text):
    normalized = clean_text(text)
    _check_spans(normalized)
    for sentence in split_sentences(normalized):
        assert sentence.text == sentence.text.strip() != ""


@settings(max_examples=300, deadline=None, database=None)
@given(_TEXTS)
def test_sentence_texts_are_stripped_in_any_text(text):
    for sentence in split_sentences(text):
        assert sentence.text == sentence.text.strip() != ""
