"""Changing the user's config file in place: adding feeds (``newsmon feeds import``).

The file is appended to, never rewritten, so the user's comments and layout stay as they were. The
result is parsed and validated before it replaces the file (atomically); if it would not load, the
file is left untouched and the :class:`ConfigError` says why.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from newsmon.config import settings_from_mapping
from newsmon.errors import ConfigError
from newsmon.models import FeedSpec

__all__ = ["FeedsAdded", "add_feeds_to_config"]


@dataclass(frozen=True, slots=True)
class FeedsAdded:
    path: Path
    added: tuple[FeedSpec, ...]
    already: int  # feeds of the import that the file already listed
    kept_defaults: bool  # [feeds_options] include_defaults = true was written


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def add_feeds_to_config(path: Path, feeds: Sequence[FeedSpec]) -> FeedsAdded:
    """Append ``[[feeds]]`` for each feed not yet in the file (created if missing).

    A file without ``[[feeds]]`` was using the built-in feeds; so that importing does not silently drop
    them, ``[feeds_options] include_defaults = true`` is appended too (unless ``[feeds_options]`` is
    already there: then the user's choice stands).
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML: {exc}") from exc
    listed = data.get("feeds", [])
    listed = listed if isinstance(listed, list) else []
    current = {str(f.get("url", "")).strip() for f in listed if isinstance(f, dict)}
    new = tuple(f for f in feeds if f.url not in current)
    chunks: list[str] = []
    kept_defaults = "feeds" not in data and "feeds_options" not in data and bool(new)
    if kept_defaults:
        chunks.append("[feeds_options]\ninclude_defaults = true  # keep the built-in feeds next to the ones below\n")
    for feed in new:
        entry = f"[[feeds]]\nurl = {_toml_string(feed.url)}\n"
        if feed.name:
            entry += f"name = {_toml_string(feed.name)}\n"
        chunks.append(entry)
    result = FeedsAdded(path, new, len(feeds) - len(new), kept_defaults)
    if not chunks:
        return result
    new_text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + "\n".join(chunks)
    try:
        settings_from_mapping(tomllib.loads(new_text), path=str(path), env={})
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "feeds", f"the imported feeds cannot be appended to this file: {exc}") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(new_text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result
