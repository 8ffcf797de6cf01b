"""Fixtures for the transform tests: the shipped registry, its matcher and the scorer, built once.

A test module imports the ``*_fixture`` functions it needs and asks for the fixtures by
their names (``registry``, ``matcher``, ``scorer``); ``tests/conftest.py`` belongs to the
flow tests.
"""

import pytest

from tonewatch.flows.config import load_lexicon, load_registry
from tonewatch.transforms.actors import ActorMatcher
from tonewatch.transforms.registry import Registry
from tonewatch.transforms.score import ToneScorer


@pytest.fixture(scope="session", name="registry")
def registry_fixture() -> Registry:
    return load_registry()


@pytest.fixture(scope="session", name="matcher")
def matcher_fixture(registry: Registry) -> ActorMatcher:
    return ActorMatcher(registry)


@pytest.fixture(scope="session", name="scorer")
def scorer_fixture() -> ToneScorer:
    return ToneScorer(load_lexicon())
