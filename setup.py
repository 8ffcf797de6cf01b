"""Compile the analysis hot path with mypyc; everything else is in pyproject.toml.

The modules below are the per-sentence work of scoring (splitting, matching actors,
attribution, VADER's pass, targets' tone, fingerprints). Compiled, a unit's analysis takes
about a fifth less CPU, with outputs identical to the pure-Python modules (the golden
tables test). The .py files stay the source; nothing else changes.

``TONEWATCH_PURE_PYTHON=1`` installs without compiling; a failed compile (no C compiler)
also falls back to pure Python, since every extension is optional.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import setup

COMPILED_MODULES = (
    "records",
    "patterns",
    "vader",
    "score",
    "attribute",
    "actors",
    "split",
    "normalize",
    "dedup",
    "analyze",
)


def compiled_extensions() -> list:
    if os.environ.get("TONEWATCH_PURE_PYTHON") == "1":
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # a build without mypy: pure Python
        return []
    # mypyc names a module by its path, so the sources are staged under the package name
    # they are installed as (pyproject maps tonewatch.transforms to transforms/).
    root = Path(__file__).resolve().parent
    staged = root / "build" / "mypyc_src"
    package = staged / "tonewatch" / "transforms"
    shutil.rmtree(staged, ignore_errors=True)
    package.mkdir(parents=True)
    (staged / "tonewatch" / "__init__.py").write_text("")
    for source in (root / "transforms").glob("*.py"):
        shutil.copy2(source, package / source.name)
    previous = Path.cwd()
    os.chdir(staged)
    try:
        extensions = mypycify(
            # Third-party modules are typed as Any wherever the build runs, installed or not.
            ["--no-site-packages", "--ignore-missing-imports"]
            + [f"tonewatch/transforms/{name}.py" for name in COMPILED_MODULES],
            opt_level="3",
            separate=True,
            target_dir=str(root / "build" / "mypyc"),
            verbose=False,
        )
    finally:
        os.chdir(previous)
    for extension in extensions:
        extension.optional = True  # no C compiler: the module stays pure Python
        # Paths mypyc gave relative to the staged folder, made absolute for setuptools.
        extension.sources = [str(staged / source) for source in extension.sources]
        extension.include_dirs = [str(staged / folder) for folder in extension.include_dirs]
    return extensions


setup(ext_modules=compiled_extensions())
