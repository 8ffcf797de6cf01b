"""Registry parsing: errors name the file, the actor or role, and the problem; later files win by id."""

import re
from datetime import date

import pytest

from tonewatch.flows.config import load_registry
from tonewatch.transforms.actors import ActorMatcher
from tonewatch.transforms.errors import RegistryError
from tonewatch.transforms.registry import parse_registry

BLOCS = """
[[bloc]]
id = "moscow"
name = "Moscow"

[[bloc]]
id = "kyiv"
name = "Kyiv"
"""
PESKOV = """
[[actor]]
id = "peskov"
name = "Dmitry Peskov"
bloc = "moscow"
aliases = ["Dmitry Peskov", "Peskov"]
"""
SPOKESMAN_ROLE = """
[[role]]
aliases = ["the Kremlin spokesman"]
holders = [{{ actor = "{actor}", from = {start}, until = {until} }}]
"""


def _row(toml, match, id, xfail=None):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(toml, match, id=id, marks=marks)


@pytest.mark.parametrize(
    ("toml", "match"),
    [
        _row(
            BLOCS + PESKOV.replace('bloc = "moscow"', 'bloc = "kremlinites"'),
            r"custom\.toml(?::\d+)?, actor \"peskov\": .*'kremlinites'.* not declared",
            id="unknown-bloc",
        ),
        _row(
            BLOCS + PESKOV.replace('bloc = "moscow"', 'bloc = "moscow"\nkind = "spokesman"'),
            r"custom\.toml(?::\d+)?, actor \"peskov\": kind must be one of person, .*got 'spokesman'",
            id="bad-kind",
        ),
        _row(
            BLOCS
            + PESKOV
            + SPOKESMAN_ROLE.format(actor="ushakov", start='"2012-05-07"', until='"2030-01-01"'),
            r"custom\.toml(?::\d+)?, role \"the Kremlin spokesman\": holder 'ushakov' is not a known actor",
            id="holder-not-an-actor",
        ),
        _row(
            BLOCS
            + PESKOV
            + SPOKESMAN_ROLE.format(actor="peskov", start='"2025-02-01"', until='"2025-01-20"'),
            r"custom\.toml(?::\d+)?, role \"the Kremlin spokesman\": "
            r"holder 'peskov' ends 2025-01-20 but starts 2025-02-01",
            id="until-before-from",
        ),
        _row(
            BLOCS
            + PESKOV
            + SPOKESMAN_ROLE.format(actor="peskov", start='"2025-02-01"', until='"2025-02-01"'),
            r"custom\.toml(?::\d+)?, role \"the Kremlin spokesman\": "
            r"holder 'peskov' ends 2025-02-01 but starts 2025-02-01",
            id="until-equals-from",
        ),
        _row(
            BLOCS
            + PESKOV
            + SPOKESMAN_ROLE.format(actor="peskov", start='"last spring"', until='"2030-01-01"'),
            r"custom\.toml(?::\d+)?, role \"the Kremlin spokesman\": "
            r"from must be an ISO date .*'last spring'",
            id="date-not-iso",
        ),
        _row(
            BLOCS + PESKOV + '[[role]]\naliases = ["the Kremlin spokesman"]\nholders = []\n',
            r"custom\.toml(?::\d+)?, role \"the Kremlin spokesman\": holders is empty",
            id="role-without-holders",
        ),
        _row(
            BLOCS
            + PESKOV
            + '[[actor]]\nid = "medvedev"\nbloc = "moscow"\naliases = ["Medvedev", "Peskov"]\n',
            r"custom\.toml(?::\d+)?, actor \"medvedev\": alias \"Peskov\" also belongs to \"peskov\"",
            id="alias-of-two-actors",
        ),
        _row(
            BLOCS + PESKOV + '[[role]]\naliases = ["Peskov"]\nholders = [{ actor = "peskov" }]\n',
            r"custom\.toml(?::\d+)?, role \"Peskov\": alias also belongs to actor \"peskov\"",
            id="alias-of-role-and-actor",
        ),
        _row(
            BLOCS + PESKOV.replace('id = "peskov"', 'id = "Peskov"'),
            r"custom\.toml(?::\d+)?, actor 'Peskov': id must match \[a-z0-9_\]\+",
            id="actor-id-not-lower-case",
        ),
        _row(
            BLOCS + PESKOV.replace('bloc = "moscow"\n', ""),
            r"custom\.toml(?::\d+)?, actor \"peskov\": bloc is missing",
            id="actor-without-bloc",
        ),
        _row(
            BLOCS + PESKOV.replace('"Peskov"]', '"  "]'),
            r"custom\.toml(?::\d+)?, actor \"peskov\": aliases must be a list of non-empty strings",
            id="blank-alias",
        ),
        _row(
            BLOCS + PESKOV.replace("[[actor]]", "[[actor]"),
            r"custom\.toml: not valid TOML: .*line 10",
            id="invalid-toml",
        ),
    ],
)
def test_registry_errors_name_file_actor_and_problem(toml, match):
    with pytest.raises(RegistryError, match=match):
        parse_registry([("custom.toml", toml)])


BASE = BLOCS + PESKOV + '[[actor]]\nid = "zelensky"\nbloc = "kyiv"\naliases = ["Zelensky", "Dmitry"]\n'


@pytest.mark.parametrize(
    ("override", "actor_id", "aliases", "bloc"),
    [
        pytest.param(
            '[[actor]]\nid = "peskov"\nbloc = "moscow"\naliases = ["Peskov", "Kremlin press secretary"]\n',
            "peskov",
            ("Peskov", "Kremlin press secretary"),
            "moscow",
            id="aliases-replaced",
        ),
        pytest.param(
            '[[actor]]\nid = "peskov"\nbloc = "kyiv"\naliases = ["Peskov"]\n',
            "peskov",
            ("Peskov",),
            "kyiv",
            id="bloc-replaced",
        ),
        pytest.param(
            # The override drops "Dmitry" from zelensky, so giving it to peskov is no clash.
            '[[actor]]\nid = "zelensky"\nbloc = "kyiv"\naliases = ["Zelensky"]\n'
            '[[actor]]\nid = "peskov"\nbloc = "moscow"\naliases = ["Peskov", "Dmitry"]\n',
            "peskov",
            ("Peskov", "Dmitry"),
            "moscow",
            id="alias-moved-between-actors",
        ),
        pytest.param(
            '[[actor]]\nid = "lavrov"\nbloc = "moscow"\naliases = ["Lavrov"]\n',
            "peskov",
            ("Dmitry Peskov", "Peskov"),
            "moscow",
            id="untouched-actor-kept",
        ),
    ],
)
def test_later_documents_override_earlier_by_id(override, actor_id, aliases, bloc):
    registry = parse_registry([("base.toml", BASE), ("user.toml", override)])
    actor = registry.actors[actor_id]
    assert (actor.aliases, actor.bloc) == (aliases, bloc)
    assert registry.fingerprint != parse_registry([("base.toml", BASE)]).fingerprint


def test_later_bloc_overrides_name_and_colour():
    registry = parse_registry(
        [("base.toml", BASE), ("user.toml", '[[bloc]]\nid = "kyiv"\nname = "Ukraine"\ncolor = "#123456"\n')]
    )
    kyiv = registry.bloc_by_id["kyiv"]
    assert (kyiv.name, kyiv.color) == ("Ukraine", "#123456")
    assert [bloc.bloc_id for bloc in registry.blocs] == ["moscow", "kyiv"]


def test_user_file_merges_over_shipped_registry(tmp_path):
    user = tmp_path / "my-actors.toml"
    user.write_text(
        '[[actor]]\nid = "peskov"\nname = "Dmitry Peskov"\nbloc = "moscow"\n'
        'aliases = ["Dmitry Peskov", "Peskov", "Kremlin press secretary"]\n',
        encoding="utf-8",
    )
    shipped = load_registry()
    merged = load_registry([user])
    assert "Kremlin press secretary" in merged.actors["peskov"].aliases
    assert merged.actors.keys() == shipped.actors.keys()
    assert merged.fingerprint != shipped.fingerprint
    sentence = "Kremlin press secretary Dmitry Peskov declined to comment."
    mentions = ActorMatcher(merged).find_mentions(sentence, as_of=date(2025, 3, 1))
    assert [(m.actor_id, m.surface) for m in mentions] == [
        ("peskov", "Kremlin press secretary"),
        ("peskov", "Dmitry Peskov"),
    ]


def test_user_file_error_names_its_path(tmp_path):
    user = tmp_path / "my-actors.toml"
    user.write_text('[[actor]]\nid = "peskov"\nbloc = "moscow"\nkind = "spokesman"\n', encoding="utf-8")
    with pytest.raises(
        RegistryError, match=re.escape(str(user)) + r'(?::\d+)?, actor "peskov": kind must be one'
    ):
        load_registry([user])


def test_fingerprint_is_stable_for_the_same_documents():
    assert parse_registry([("a.toml", BASE)]).fingerprint == parse_registry([("b.toml", BASE)]).fingerprint
