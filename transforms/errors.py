"""The exceptions tonewatch raises on bad input, one base for all.

TonewatchError            anything a user can fix: names the input and the problem
 ├── RegistryError        the actor registry (TOML) is malformed or inconsistent
 ├── LexiconError         the lexicon additions file is malformed
 ├── SourceError          a source (file, folder, feed, URL) cannot be read at all
 ├── ConfigError          the ingest config (tonewatch.toml) is malformed
 ├── ReportError          the report cannot be written where it was asked for
 └── StoreError           the DuckDB file cannot be opened, is busy, or has a newer schema
"""


class TonewatchError(Exception):
    """Base of every error a user can act on; the CLI prints it as one line."""


class RegistryError(TonewatchError):
    """The actor registry is malformed: names the file, the actor and the field."""


class LexiconError(TonewatchError):
    """The lexicon additions file is malformed: names the file and the entry."""


class SourceError(TonewatchError):
    """A source cannot be read at all (a bad article inside a readable source is a reject)."""


class ConfigError(TonewatchError):
    """The ingest config (tonewatch.toml) is malformed: names the file, the entry and the key."""


class ReportError(TonewatchError):
    """The report cannot be written: names the path and what the system said."""


class StoreError(TonewatchError):
    """The store cannot be opened or written: names the database file."""
