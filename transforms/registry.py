"""Parse and validate the actor registry (TOML text) into an immutable ``Registry``.

Pure: no I/O; the caller reads the files and passes their text and names.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date

from .errors import RegistryError

ACTOR_KINDS = ("person", "institution", "place", "country")
_ID = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class Bloc:
    bloc_id: str
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class Actor:
    actor_id: str
    name: str
    kind: str
    bloc: str
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleHolder:
    actor_id: str
    valid_from: date | None
    valid_until: date | None  # exclusive

    def holds_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day < self.valid_until
        )


@dataclass(frozen=True, slots=True)
class Role:
    aliases: tuple[str, ...]
    holders: tuple[RoleHolder, ...]

    def holder_on(self, day: date) -> str | None:
        for holder in self.holders:
            if holder.holds_on(day):
                return holder.actor_id
        return None


@dataclass(frozen=True)
class Registry:
    blocs: tuple[Bloc, ...]
    actors: dict[str, Actor]
    roles: tuple[Role, ...]
    exclusions: tuple[str, ...]
    fingerprint: str
    bloc_by_id: dict[str, Bloc] = field(default_factory=dict)

    def bloc_of(self, actor_id: str) -> str:
        return self.actors[actor_id].bloc


def _fail(name: str, where: str, problem: str, *, line: int | None = None) -> RegistryError:
    place = f"{name}:{line}" if line else name
    return RegistryError(f"{place}, {where}: {problem}")


def _line_of(text: str, entry_id: str | None, key: str | None = None) -> int | None:
    """The line of ``key`` inside the table whose id is ``entry_id`` (else the id's own line)."""
    if not isinstance(entry_id, str):
        return None
    lines = text.splitlines()
    id_pattern = re.compile(r"^\s*id\s*=\s*[\"']" + re.escape(entry_id) + r"[\"']")
    for number, line in enumerate(lines, start=1):
        if id_pattern.match(line):
            if key is None:
                return number
            table_start = number
            while table_start > 1 and not lines[table_start - 1].lstrip().startswith("[["):
                table_start -= 1
            for offset, candidate in enumerate(lines[table_start:], start=table_start + 1):
                if offset > table_start + 1 and candidate.lstrip().startswith("["):
                    break
                if re.match(r"^\s*" + re.escape(key) + r"\s*=", candidate):
                    return offset
            return number
    return None


def _parse_date(value: object, name: str, where: str, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(name, where, f"{key} must be an ISO date like 2025-01-20, got {value!r}")


def _strings(value: object, name: str, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(name, where, f"{key} must be a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _parse_document(text: str, name: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{name}: not valid TOML: {exc}") from exc


def parse_registry(documents: list[tuple[str, str]]) -> Registry:
    """Merge registry documents ``(name, toml_text)`` in order; later ones override by id."""
    blocs: dict[str, Bloc] = {}
    actors: dict[str, Actor] = {}
    raw_roles: list[tuple[str, dict]] = []
    exclusions: list[str] = []
    declared_in: dict[str, tuple[str, str]] = {}
    for name, text in documents:
        document = _parse_document(text, name)
        for entry in document.get("bloc", []):
            bloc_id = entry.get("id")
            if not isinstance(bloc_id, str) or not _ID.match(bloc_id):
                raise _fail(
                    name, f"bloc {bloc_id!r}", "id must match [a-z0-9_]+", line=_line_of(text, bloc_id)
                )
            blocs[bloc_id] = Bloc(
                bloc_id, str(entry.get("name", bloc_id)), str(entry.get("color", "#7f7f7f"))
            )
        for entry in document.get("actor", []):
            actor_id = entry.get("id")
            if not isinstance(actor_id, str) or not _ID.match(actor_id):
                raise _fail(
                    name, f"actor {actor_id!r}", "id must match [a-z0-9_]+", line=_line_of(text, actor_id)
                )
            where = f'actor "{actor_id}"'
            kind = entry.get("kind", "person")
            if kind not in ACTOR_KINDS:
                raise _fail(
                    name,
                    where,
                    f"kind must be one of {', '.join(ACTOR_KINDS)}, got {kind!r}",
                    line=_line_of(text, actor_id, "kind"),
                )
            if not isinstance(entry.get("bloc"), str):
                raise _fail(name, where, "bloc is missing", line=_line_of(text, actor_id))
            display = entry.get("name", actor_id)
            try:
                aliases = _strings(entry.get("aliases", [display]), name, where, "aliases")
            except RegistryError as exc:
                raise _fail(
                    name, where, str(exc).split(": ", 1)[1], line=_line_of(text, actor_id, "aliases")
                ) from None
            declared_in[actor_id] = (name, text)
            actors[actor_id] = Actor(actor_id, str(display), kind, entry["bloc"], aliases)
        raw_roles.extend((name, entry) for entry in document.get("role", []))
        exclusions.extend(_strings(document.get("exclude", []), name, "exclude", "exclude"))

    for actor in actors.values():
        if actor.bloc not in blocs:
            name, text = declared_in[actor.actor_id]
            raise _fail(
                name,
                f'actor "{actor.actor_id}"',
                f"bloc {actor.bloc!r} is not declared (known: {', '.join(blocs) or 'none'})",
                line=_line_of(text, actor.actor_id, "bloc"),
            )
    roles = tuple(_parse_role(name, entry, actors) for name, entry in raw_roles)
    _check_alias_clashes(actors, roles, declared_in, [name for name, _ in raw_roles])
    fingerprint = hashlib.sha256(
        repr((sorted(blocs.items()), sorted(actors.items()), roles, sorted(exclusions))).encode()
    ).hexdigest()[:16]
    return Registry(tuple(blocs.values()), actors, roles, tuple(exclusions), fingerprint, dict(blocs))


def _parse_role(name: str, entry: dict, actors: dict[str, Actor]) -> Role:
    aliases = _strings(entry.get("aliases"), name, f"role {entry.get('aliases')!r}", "aliases")
    where = f'role "{aliases[0]}"'
    holders = []
    for holder in entry.get("holders", []):
        actor_id = holder.get("actor")
        if actor_id not in actors:
            raise _fail(name, where, f"holder {actor_id!r} is not a known actor")
        valid_from = _parse_date(holder.get("from"), name, where, "from")
        valid_until = _parse_date(holder.get("until"), name, where, "until")
        if valid_from and valid_until and valid_until <= valid_from:
            raise _fail(name, where, f"holder {actor_id!r} ends {valid_until} but starts {valid_from}")
        holders.append(RoleHolder(actor_id, valid_from, valid_until))
    if not holders:
        raise _fail(name, where, "holders is empty")
    return Role(aliases, tuple(holders))


def _check_alias_clashes(
    actors: dict[str, Actor],
    roles: tuple[Role, ...],
    declared_in: dict[str, tuple[str, str]],
    role_files: list[str],
) -> None:
    owner: dict[str, str] = {}
    for actor in actors.values():
        for alias in actor.aliases:
            previous = owner.setdefault(alias, actor.actor_id)
            if previous != actor.actor_id:
                name, text = declared_in[actor.actor_id]
                raise _fail(
                    name,
                    f'actor "{actor.actor_id}"',
                    f'alias "{alias}" also belongs to "{previous}"',
                    line=_line_of(text, actor.actor_id, "aliases"),
                )
    for role, role_file in zip(roles, role_files, strict=True):
        for alias in role.aliases:
            if alias in owner:
                raise _fail(role_file, f'role "{alias}"', f'alias also belongs to actor "{owner[alias]}"')
