"""Speaker attribution over whole paragraphs: quotes, indirect speech, speech acts, carried speakers."""

from datetime import date

import pytest
from fixtures_transforms import matcher_fixture, registry_fixture  # noqa: F401

from tonewatch.transforms.attribute import attribute_article
from tonewatch.transforms.records import Attribution, Mention
from tonewatch.transforms.split import paragraph_starts, split_sentences

DAY = date(2025, 2, 23)


def attribute(text: str, registry, matcher, day: date = DAY):
    sentences = split_sentences(text)
    mentions = [matcher.find_mentions(s.text, as_of=day) for s in sentences]
    attributions = attribute_article(sentences, mentions, registry, paragraph_starts=paragraph_starts(text))
    assert len(attributions) == len(sentences)
    return sentences, mentions, attributions


def speakers(text: str, registry, matcher, day: date = DAY) -> list[tuple[str, str | None]]:
    """(sentence text, speaker) for every sentence of ``text`` (paragraphs separated by blank lines)."""
    sentences, _, attributions = attribute(text, registry, matcher, day)
    return [(s.text, a.speaker_actor) for s, a in zip(sentences, attributions, strict=True)]


def _row(text, expected, id, xfail=None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(text, expected, id=id, marks=marks)


PESKOV_READY = '"We are ready for talks," Peskov said.'

ROWS = [
    # direct quotes
    _row(PESKOV_READY, [(PESKOV_READY, "peskov")], id="quote-then-name-said"),
    _row(
        'Peskov said: "We are ready for talks."',
        [('Peskov said: "We are ready for talks."', "peskov")],
        id="name-said-colon-quote",
    ),
    _row(
        '"We are ready for talks," said Peskov.',
        [('"We are ready for talks," said Peskov.', "peskov")],
        id="quote-then-said-name",
    ),
    _row(
        '"We are ready for talks," said Kremlin spokesman Dmitry Peskov.',
        [('"We are ready for talks," said Kremlin spokesman Dmitry Peskov.', "peskov")],
        id="quote-then-said-title-and-name",
    ),
    _row(
        '"We are ready for talks," the Kremlin spokesman said.',
        [('"We are ready for talks," the Kremlin spokesman said.', "peskov")],
        id="quote-then-role-said",
    ),
    _row(
        '"We are ready," Peskov said, "but Kyiv is not."',
        [('"We are ready," Peskov said, "but Kyiv is not."', "peskov")],
        id="attribution-inside-quote",
    ),
    _row(
        '"We will respond," Medvedev warned on X.',
        [('"We will respond," Medvedev warned on X.', "medvedev")],
        id="quote-then-warned",
    ),
    _row(
        'Asked whether talks would resume, Peskov said: "We will see."',
        [('Asked whether talks would resume, Peskov said: "We will see."', "peskov")],
        id="asked-clause-then-name-said",
    ),
    _row(
        '"Why now?" Peskov asked.',
        [('"Why now?" Peskov asked.', "peskov")],
        id="question-quote-then-name-asked",
    ),
    # carried speakers
    _row(
        PESKOV_READY + '\n\n"That is promising," he told state TV.',
        [(PESKOV_READY, "peskov"), ('"That is promising," he told state TV.', "peskov")],
        id="he-told-continues-speaker",
    ),
    _row(
        PESKOV_READY + '\n\n"Why now?" he asked.',
        [(PESKOV_READY, "peskov"), ('"Why now?" he asked.', "peskov")],
        id="he-asked-continues-speaker",
    ),
    _row(
        '"Europe will pay," Zakharova wrote on Telegram. "Kyiv is a puppet," she added.',
        [
            ('"Europe will pay," Zakharova wrote on Telegram.', "zakharova"),
            ('"Kyiv is a puppet," she added.', "zakharova"),
        ],
        id="she-added-continues-speaker",
    ),
    _row(
        '"Talks are useful. They must continue," Peskov said.',
        [('"Talks are useful.', "peskov"), ('They must continue," Peskov said.', "peskov")],
        id="two-sentence-quote-speaker-at-end",
    ),
    _row(
        PESKOV_READY + ' "The ball is in Kyiv\'s court."',
        [(PESKOV_READY, "peskov"), ('"The ball is in Kyiv\'s court."', "peskov")],
        id="quote-right-after-attributed-quote",
    ),
    _row(
        PESKOV_READY + '\n\n"It is important that nothing stands in the way."',
        [(PESKOV_READY, "peskov"), ('"It is important that nothing stands in the way."', "peskov")],
        id="quoted-paragraph-after-attributed-paragraph",
    ),
    _row(
        '"Zelensky makes remarks. He does it often," Peskov said.\n\n'
        '"No leader would accept that. His reaction is understandable."',
        [
            ('"Zelensky makes remarks.', "peskov"),
            ('He does it often," Peskov said.', "peskov"),
            ('"No leader would accept that.', "peskov"),
            ('His reaction is understandable."', "peskov"),
        ],
        id="two-sentence-quote-then-quoted-paragraph",
    ),
    _row(
        "Lavrov said the talks were useful. He added that Moscow was ready.",
        [("Lavrov said the talks were useful.", "lavrov"), ("He added that Moscow was ready.", "lavrov")],
        id="he-added-after-indirect-speech",
    ),
    _row(
        "The Kremlin said the talks were useful. It added that Moscow was ready.",
        [
            ("The Kremlin said the talks were useful.", "kremlin"),
            ("It added that Moscow was ready.", "kremlin"),
        ],
        id="it-added-after-institution",
    ),
    _row(
        "The Kremlin said the talks were useful. He added that Moscow was ready.",
        [("The Kremlin said the talks were useful.", "kremlin"), ("He added that Moscow was ready.", None)],
        id="he-is-not-an-institution",
    ),
    _row(
        '"Russia wants peace," Peskov said.\n"Nobody believes that," Zelensky replied.',
        [
            ('"Russia wants peace," Peskov said.', "peskov"),
            ('"Nobody believes that," Zelensky replied.', "zelensky"),
        ],
        id="speaker-changes",
    ),
    _row(
        'Peskov arrived in Riyadh on Sunday.\n\n"The talks will be long," he said.',
        [("Peskov arrived in Riyadh on Sunday.", None), ('"The talks will be long," he said.', "peskov")],
        id="he-said-after-narrative-naming-him",
    ),
    _row(
        '"I am not going anywhere," Zelensky said. Rubio shook his head. "He should go," he said.',
        [
            ('"I am not going anywhere," Zelensky said.', "zelensky"),
            ("Rubio shook his head.", None),
            ('"He should go," he said.', "rubio"),
        ],
        id="he-said-after-a-new-person-acts",
    ),
    _row(
        "\"He told me 'we will never give up,' and I believed him,\" Zelensky said.",
        [("\"He told me 'we will never give up,' and I believed him,\" Zelensky said.", "zelensky")],
        id="single-quotes-inside-a-quote",
    ),
    _row(
        '"We want peace," Zelensky said. "Kyiv is not serious," Peskov replied.',
        [
            ('"We want peace," Zelensky said.', "zelensky"),
            ('"Kyiv is not serious," Peskov replied.', "peskov"),
        ],
        id="two-speakers-in-one-paragraph",
    ),
    _row(
        '"Peskov is wrong," Yermak said of the Kremlin spokesman.',
        [('"Peskov is wrong," Yermak said of the Kremlin spokesman.', "yermak")],
        id="named-actor-inside-quote-is-not-the-speaker",
    ),
    # indirect speech
    _row(
        "Zelensky said on Telegram that Russia was stalling.",
        [("Zelensky said on Telegram that Russia was stalling.", "zelensky")],
        id="said-on-telegram-that",
    ),
    _row(
        "According to Lavrov, the West has no plan for peace.",
        [("According to Lavrov, the West has no plan for peace.", "lavrov")],
        id="according-to-name",
    ),
    _row(
        'The talks, according to Peskov, were "constructive."',
        [('The talks, according to Peskov, were "constructive."', "peskov")],
        id="according-to-mid-sentence",
    ),
    _row(
        "Rubio told reporters that the meeting was productive.",
        [("Rubio told reporters that the meeting was productive.", "rubio")],
        id="told-reporters-that",
    ),
    _row(
        "Zelensky on Sunday said Russia was lying.",
        [("Zelensky on Sunday said Russia was lying.", "zelensky")],
        id="time-between-subject-and-verb",
    ),
    _row(
        "In an interview with Fox News, Trump said Zelensky was a dictator.",
        [("In an interview with Fox News, Trump said Zelensky was a dictator.", "trump")],
        id="opening-clause-then-name-said",
    ),
    _row(
        "The U.S. president said Putin wanted peace.",
        [("The U.S. president said Putin wanted peace.", "trump")],
        id="role-speaker",
    ),
    _row(
        "Dmitry Peskov, the Kremlin's spokesman, said the talks were useful.",
        [("Dmitry Peskov, the Kremlin's spokesman, said the talks were useful.", "peskov")],
        id="appositive-with-role",
    ),
    _row(
        "Witkoff, who met Putin for three hours, said the meeting was good.",
        [("Witkoff, who met Putin for three hours, said the meeting was good.", "witkoff")],
        id="relative-clause-with-mention",
    ),
    _row(
        "Trump, speaking at the White House, said Zelensky was a dictator.",
        [("Trump, speaking at the White House, said Zelensky was a dictator.", "trump")],
        id="participle-clause-with-mention",
    ),
    _row(
        "Officials said Zelensky was expected in Washington on Friday.",
        [("Officials said Zelensky was expected in Washington on Friday.", None)],
        id="unnamed-speaker-then-target",
    ),
    _row(
        "A senior official told Reuters that Trump would not attend.",
        [("A senior official told Reuters that Trump would not attend.", None)],
        id="unnamed-official-told-that",
    ),
    # speech acts
    _row(
        "Trump has verbally attacked Ukraine's leader.",
        [("Trump has verbally attacked Ukraine's leader.", "trump")],
        id="speech-act-attacked",
    ),
    _row(
        "Putin hailed Trump's courage.", [("Putin hailed Trump's courage.", "putin")], id="speech-act-hailed"
    ),
    _row(
        "Zelensky criticised Putin and thanked Macron.",
        [("Zelensky criticised Putin and thanked Macron.", "zelensky")],
        id="speech-act-two-objects",
    ),
    _row(
        "Putin was criticised by Zelensky on Sunday.",
        [("Putin was criticised by Zelensky on Sunday.", "zelensky")],
        id="passive-speech-act",
    ),
    # nobody speaks
    _row("Brent crude fell 2% on Monday.", [("Brent crude fell 2% on Monday.", None)], id="no-actor"),
    _row(
        "Macron and Starmer will travel to Washington next week.",
        [("Macron and Starmer will travel to Washington next week.", None)],
        id="actors-but-no-speech",
    ),
    _row(
        "Moscow has revelled in the spat between Trump and Zelensky.",
        [("Moscow has revelled in the spat between Trump and Zelensky.", None)],
        id="outlet-voice",
    ),
    _row(
        "The Moscow Times reported that the talks had stalled.",
        [("The Moscow Times reported that the talks had stalled.", None)],
        id="moscow-times-reported",
    ),
    _row(
        "The Moscow Times said the talks had stalled.",
        [("The Moscow Times said the talks had stalled.", None)],
        id="moscow-times-said",
    ),
    # a speaker we do not know breaks the chain
    _row(
        PESKOV_READY + '\n\n"The market will decide," said analyst John Smith. "Nobody knows," he added.',
        [
            (PESKOV_READY, "peskov"),
            ('"The market will decide," said analyst John Smith.', None),
            ('"Nobody knows," he added.', None),
        ],
        id="unknown-speaker-then-he-added",
    ),
    _row(
        PESKOV_READY
        + '\n\nAnalysts said the offer was not serious. "Nobody believes it," one diplomat said.',
        [
            (PESKOV_READY, "peskov"),
            ("Analysts said the offer was not serious.", None),
            ('"Nobody believes it," one diplomat said.', None),
        ],
        id="unnamed-speakers-after-named-one",
    ),
]


@pytest.mark.parametrize(("text", "expected"), ROWS)
def test_speakers(registry, matcher, text, expected):
    assert speakers(text, registry, matcher) == expected


def test_enough_rows():
    assert len(ROWS) >= 30


@pytest.mark.parametrize(
    ("text", "day", "expected"),
    [
        ("Ukraine's foreign minister said the plan was dead.", date(2024, 6, 1), "kuleba"),
        ("Ukraine's foreign minister said the plan was dead.", date(2024, 10, 1), "sybiha"),
        ('"The plan is dead," the U.S. president said.', date(2024, 6, 1), "biden"),
        ('"The plan is dead," the U.S. president said.', date(2025, 3, 1), "trump"),
    ],
    ids=["kuleba", "sybiha", "biden", "trump"],
)
def test_role_speaker_by_date(registry, matcher, text, day, expected):
    assert speakers(text, registry, matcher, day) == [(text, expected)]


def _content_actors(mentions: list[Mention], attribution: Attribution) -> set[str]:
    # The rule analyze.py applies: a mention is a target when it starts inside the content.
    return {m.actor_id for m in mentions if any(b <= m.start < e for b, e in attribution.content)}


@pytest.mark.parametrize(
    ("sentence", "inside", "outside"),
    [
        pytest.param(
            '"Zelensky makes inappropriate remarks," Peskov said.', {"zelensky"}, {"peskov"}, id="quote"
        ),
        pytest.param(
            'Peskov said: "Trump is a strong leader."', {"trump"}, {"peskov"}, id="said-colon-quote"
        ),
        pytest.param(
            "Zelensky said on Telegram that Russia was stalling.", {"russia"}, {"zelensky"}, id="indirect"
        ),
        pytest.param(
            "According to Lavrov, Washington is not ready.", {"us_government"}, {"lavrov"}, id="according-to"
        ),
        pytest.param(
            "Trump has verbally attacked Ukraine's leader.", {"zelensky"}, {"trump"}, id="speech-act"
        ),
        pytest.param("Putin hailed Trump's courage.", {"trump"}, {"putin"}, id="speech-act-possessive"),
        pytest.param(
            '"He is a dictator," Trump said of Zelensky.',
            {"zelensky"},
            {"trump"},
            id="said-of-target",
        ),
    ],
)
def test_content_holds_targets_not_the_speaker(registry, matcher, sentence, inside, outside):
    sentences, mentions, attributions = attribute(sentence, registry, matcher)
    assert len(sentences) == 1
    actors = _content_actors(mentions[0], attributions[0])
    assert inside <= actors
    assert not outside & actors


@pytest.mark.parametrize(
    ("text", "methods"),
    [
        (PESKOV_READY + ' "The ball is in their court."', ["quote", "continuation"]),
        ("Zelensky said on Telegram that Russia was stalling.", ["indirect"]),
        ("Putin hailed Trump's courage.", ["speech_act"]),
        ("Brent crude fell 2% on Monday.", ["none"]),
    ],
    ids=["quote-continuation", "indirect", "speech-act", "none"],
)
def test_attribution_method(registry, matcher, text, methods):
    _, _, attributions = attribute(text, registry, matcher)
    assert [a.method for a in attributions] == methods
