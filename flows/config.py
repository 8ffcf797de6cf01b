"""Read the registry and lexicon files and build the scoring context (I/O edge of transforms)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from ..transforms.actors import ActorMatcher
from ..transforms.analyze import ScoringContext
from ..transforms.errors import LexiconError, RegistryError
from ..transforms.registry import Registry, parse_registry
from ..transforms.score import Lexicon, ToneScorer, parse_lexicon, scorer_version
from .settings import DEFAULT_LEXICON, DEFAULT_REGISTRY


def _read(path: Path, error: type[Exception]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from exc


def load_registry(actors_files: Sequence[Path] = ()) -> Registry:
    """The shipped registry, then each user file merged over it (later files win by id)."""
    paths = [DEFAULT_REGISTRY, *actors_files]
    return parse_registry([(str(p), _read(p, RegistryError)) for p in paths])


def load_lexicon(lexicon_file: Path | None = None) -> Lexicon:
    """The shipped lexicon additions, with a user file's words and thresholds merged over them."""
    lexicon = parse_lexicon(_read(DEFAULT_LEXICON, LexiconError), name=str(DEFAULT_LEXICON))
    if lexicon_file is not None:
        lexicon = parse_lexicon(_read(lexicon_file, LexiconError), name=str(lexicon_file), base=lexicon)
    return lexicon


@lru_cache(maxsize=4)
def scoring_context(actors_files: tuple[Path, ...] = (), lexicon_file: Path | None = None) -> ScoringContext:
    """Build (once per process and configuration) the matcher and scorer a run uses."""
    registry = load_registry(actors_files)
    scorer = ToneScorer(load_lexicon(lexicon_file))
    return ScoringContext(
        registry, ActorMatcher(registry), scorer, scorer_version(scorer, registry.fingerprint)
    )
