"""Read the ingest config (tonewatch.toml): sources, outlets by host, fetch limits; checked on load.

The shipped default (``flows/data/tonewatch.toml``) always supplies the outlet table and the
fetch limits; a user's file is merged over it. Its feed list is used only when asked for
(``--config default``), so a run never contacts a host the user did not name.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..transforms.errors import ConfigError
from ..transforms.normalize import url_host
from .fetch import FetchSettings
from .settings import DEFAULT_INGEST_CONFIG

HOMES = ("moscow", "kyiv", "washington", "europe", "other")
SOURCE_KINDS = ("auto", "feed", "page", "files")
# Article fields a JSON or CSV record can supply, and so the targets of a field mapping.
MAPPABLE_FIELDS = ("url", "outlet", "outlet_home", "published_at", "title", "text", "language", "author")
DEFAULT_CONFIG_NAME = "default"
_SOURCE_KEYS = ("url", "path", "kind", "outlet", "home", "language", "map", "fetch_pages")
_OUTLET_KEYS = ("name", "home")
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Outlet:
    """An outlet's display name and home (a capital, ``europe`` or ``other``)."""

    name: str | None = None
    home: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """One source to ingest: a URL, a file or a folder, and what the config says about it."""

    location: str
    name: str | None = None
    kind: str = "auto"
    outlet: str | None = None
    home: str | None = None
    language: str | None = None
    field_map: tuple[tuple[str, str], ...] = ()
    fetch_pages: bool = True

    @property
    def is_url(self) -> bool:
        return bool(_URL_LIKE.match(self.location))

    @property
    def label(self) -> str:
        return self.location


@dataclass(frozen=True)
class IngestConfig:
    """Everything ``tonewatch ingest`` reads from config files, merged and checked."""

    sources: tuple[SourceSpec, ...] = ()
    outlets: Mapping[str, Outlet] = field(default_factory=dict)
    fetch: FetchSettings = field(default_factory=FetchSettings)

    def outlet_for(self, url: str | None) -> Outlet | None:
        """The outlet entry for ``url``'s host or its nearest listed parent domain."""
        host = (url_host(url) or "").removeprefix("www.")
        while host:
            if host in self.outlets:
                return self.outlets[host]
            _, _, host = host.partition(".")
            if "." not in host:
                return None
        return None


def is_url(location: str) -> bool:
    """True for anything written as ``scheme://…`` (http, https, or a scheme that is rejected)."""
    return bool(_URL_LIKE.match(location))


def parse_field_map(items: Sequence[str], *, where: str = "--map") -> tuple[tuple[str, str], ...]:
    """``["text=body", "published_at=date"]`` → ``(("text", "body"), ("published_at", "date"))``."""
    pairs = []
    for item in items:
        target, sep, column = item.partition("=")
        target, column = target.strip(), column.strip()
        if not sep or not target or not column:
            raise ConfigError(f"{where}: expected FIELD=COLUMN like text=body, got {item!r}")
        pairs.append((target, column))
    return _checked_map(pairs, where)


def _checked_map(pairs: Sequence[tuple[str, str]], where: str) -> tuple[tuple[str, str], ...]:
    for target, column in pairs:
        if target not in MAPPABLE_FIELDS:
            raise ConfigError(
                f"{where}: unknown article field {target!r}; expected one of {', '.join(MAPPABLE_FIELDS)}"
            )
        if not isinstance(column, str) or not column:
            raise ConfigError(f"{where}: field {target!r} must map to a column name, got {column!r}")
    return tuple(pairs)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _expect_table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {value!r:.60}")
    return value


def _optional_str(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {value!r:.60}")
    return value.strip() if isinstance(value, str) else None


def _home(value: str | None, where: str) -> str | None:
    if value is not None and value.lower() not in HOMES:
        raise ConfigError(f"{where}: home must be one of {', '.join(HOMES)}, got {value!r}")
    return value.lower() if value else None


def _unknown_keys(table: dict[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}; expected one of {', '.join(allowed)}")


def _parse_outlets(raw: object, name: str) -> dict[str, Outlet]:
    outlets = {}
    for host, entry in _expect_table(raw, f"{name}, [outlets]").items():
        where = f'{name}, outlet "{host}"'
        table = _expect_table(entry, where)
        _unknown_keys(table, _OUTLET_KEYS, where)
        key = host.strip().lower().removeprefix("www.")
        if not key or "/" in key or ":" in key:
            raise ConfigError(f"{where}: expected a host name like tass.com")
        outlets[key] = Outlet(
            _optional_str(table, "name", where), _home(_optional_str(table, "home", where), where)
        )
    return outlets


def _parse_fetch(raw: object, name: str, base: FetchSettings) -> FetchSettings:
    table = _expect_table(raw, f"{name}, [fetch]")
    known = [f.name for f in fields(FetchSettings)]
    _unknown_keys(table, known, f"{name}, [fetch]")
    values = dict(table)
    if "retry_delays_seconds" in values:
        delays = values["retry_delays_seconds"]
        if not isinstance(delays, list):
            raise ConfigError(f"{name}, [fetch]: retry_delays_seconds must be a list like [2, 10, 30]")
        values["retry_delays_seconds"] = tuple(delays)
    try:
        return replace(base, **values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}, [fetch]: {exc}") from exc


def _parse_source(key: str, raw: object, name: str, folder: Path) -> SourceSpec:
    where = f'{name}, source "{key}"'
    table = _expect_table(raw, where)
    _unknown_keys(table, _SOURCE_KEYS, where)
    url, path = _optional_str(table, "url", where), _optional_str(table, "path", where)
    if (url is None) == (path is None):
        raise ConfigError(f"{where}: give exactly one of url or path")
    if url is not None and not is_url(url):
        raise ConfigError(f"{where}: url must be written as http(s)://…, got {url!r}")
    kind = table.get("kind", "auto")
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}")
    fetch_pages = table.get("fetch_pages", True)
    if not isinstance(fetch_pages, bool):
        raise ConfigError(f"{where}: fetch_pages must be true or false, got {fetch_pages!r}")
    mapping = _expect_table(table.get("map", {}), f"{where}, map")
    location = url if url is not None else str((folder / Path(path).expanduser()) if path else "")
    return SourceSpec(
        location=location,
        name=key,
        kind=kind,
        outlet=_optional_str(table, "outlet", where),
        home=_home(_optional_str(table, "home", where), where),
        language=_optional_str(table, "language", where),
        field_map=_checked_map(list(mapping.items()), f"{where}, map"),
        fetch_pages=fetch_pages,
    )


def _parse(path: Path, base: IngestConfig) -> IngestConfig:
    data = _read_toml(path)
    name = str(path)
    _unknown_keys(data, ("fetch", "outlets", "sources"), name)
    outlets = {**base.outlets, **_parse_outlets(data.get("outlets", {}), name)}
    fetch = _parse_fetch(data.get("fetch", {}), name, base.fetch)
    sources = tuple(
        _parse_source(key, entry, name, path.parent)
        for key, entry in _expect_table(data.get("sources", {}), f"{name}, [sources]").items()
    )
    return IngestConfig(sources=sources, outlets=outlets, fetch=fetch)


def load_config(path: str | Path | None = None) -> IngestConfig:
    """The shipped config, with ``path`` merged over it; ``"default"`` means the shipped feeds."""
    shipped = _parse(DEFAULT_INGEST_CONFIG, IngestConfig())
    if path is None:
        return replace(shipped, sources=())
    if str(path) == DEFAULT_CONFIG_NAME:
        return shipped
    return _parse(Path(path), replace(shipped, sources=()))
