"""The labelled set from real reporting: build it from collector files, dedupe, freeze the split.

The set (``benchmarks/data/real_reporting.jsonl``) holds news coverage of the beat written by
newsrooms (wire copy, US and Chinese outlets, translations), one JSON object per line::

    {"id", "url", "headline", "text", "labels": [topic ids], "why", "story", "group", "split",
     "kind": "positive" | "hard_negative", "published", "source"}

- ``story`` names the event (items on one event share it); ``group`` joins stories whose items are
  near-identical or share a URL, so no event sits on both sides of the split.
- ``split`` is ``test`` (held out) when ``int(sha256(("real:" + group).encode()).hexdigest()[:8],
  16) % 10 < 3``, else ``dev`` (about 70 / 30 by story). It is computed once, when an item enters
  the file, and written into it: re-running the build keeps every existing item's split.

Build (from the repository root): ``python -m classify.realset [DATA_DIR]``; DATA_DIR holds the
collectors' ``positives_*.jsonl`` and ``negatives.jsonl`` (default ``$NEWSMON_REAL_DATA`` or
``../data11`` beside the repository).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "REAL_SET_PATH",
    "RealItem",
    "build",
    "load_real",
    "real_split_of",
]

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
REAL_SET_PATH = REPO_ROOT / "benchmarks" / "data" / "real_reporting.jsonl"
FIXES_PATH = REPO_ROOT / "benchmarks" / "data" / "real_reporting_fixes.json"
"""Label corrections made while reviewing the collectors' items (before the split was used for
tuning, without looking at predictions): ``{item id: {"labels": [...], "why": "..."}}``."""
NEAR_DUPLICATE = 0.8
"""Jaccard of word 5-shingles at or above which two texts are one item (a copy)."""
SAME_EVENT = 0.5
"""Jaccard of word 5-shingles at or above which two items' stories are joined into one group."""
TOPIC_IDS = (
    "chip-export",
    "cloud-policy",
    "cloud-competition",
    "foundation-models",
    "investment",
    "regulation",
    "talent",
)
_KINDS = ("positive", "hard_negative")
_WORD = re.compile(r"\w+")


def real_split_of(group: str) -> str:
    """``"test"`` (held out, ≈30 %) or ``"dev"`` for a story group, by the fixed hash rule."""
    bucket = int(hashlib.sha256(f"real:{group}".encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket < 3 else "dev"


@dataclass(frozen=True, slots=True)
class RealItem:
    """One item of the real-reporting set, as stored."""

    id: str
    url: str
    headline: str
    text: str
    labels: tuple[str, ...]
    why: str
    story: str
    group: str
    split: str
    kind: str
    published: str | None
    source: str

    def to_json(self) -> dict[str, object]:
        """The stored JSON object (key order fixed)."""
        return {
            "id": self.id,
            "url": self.url,
            "headline": self.headline,
            "text": self.text,
            "labels": list(self.labels),
            "why": self.why,
            "story": self.story,
            "group": self.group,
            "split": self.split,
            "kind": self.kind,
            "published": self.published,
            "source": self.source,
        }


def load_real(path: pathlib.Path = REAL_SET_PATH) -> list[RealItem]:
    """Read the stored set; a malformed line is an error naming the file and line."""
    out: list[RealItem] = []
    if not path.exists():
        return out
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(_stored_item(obj))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from exc
    return out


def _stored_item(obj: dict[str, object]) -> RealItem:
    """A RealItem from a stored line (every key required)."""
    labels = obj["labels"]
    if not isinstance(labels, list):
        raise ValueError("labels must be a list")
    split = str(obj["split"])
    if split not in ("dev", "test"):
        raise ValueError(f"split {split!r}")
    published = obj.get("published")
    return RealItem(
        id=str(obj["id"]),
        url=str(obj["url"]),
        headline=str(obj["headline"]),
        text=str(obj["text"]),
        labels=tuple(str(t) for t in labels),
        why=str(obj["why"]),
        story=str(obj["story"]),
        group=str(obj["group"]),
        split=split,
        kind=str(obj["kind"]),
        published=None if published is None else str(published),
        source=str(obj.get("source", "")),
    )


def canonical_url(url: str) -> str:
    """Scheme-less, lower-case host without ``www.``/``amp`` marks, no query or fragment, no
    trailing slash: two links to one article compare equal."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = re.sub(r"/(amp|amp\.html)$", "", parts.path).rstrip("/")
    return urlunsplit(("", host, path, "", ""))


def _shingles(text: str, n: int = 5) -> frozenset[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    return frozenset(" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What :func:`build` did."""

    read: int
    rejected: tuple[str, ...]
    duplicate_urls: int
    near_duplicates: int
    joined_stories: int
    kept: int
    new: int


def _raw_items(data_dir: pathlib.Path) -> Iterable[tuple[str, int, dict[str, object]]]:
    """(file name, line, object) for every complete JSON line of the collector files."""
    files = sorted(data_dir.glob("positives_*.jsonl")) + sorted(data_dir.glob("negatives*.jsonl"))
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being appended right now; the next build reads it whole
            if isinstance(obj, dict):
                yield path.name, lineno, obj


def _check(obj: dict[str, object]) -> str | None:
    """Why a collector object cannot enter the set, or None."""
    for key in ("id", "url", "headline", "text", "labels", "why", "story", "kind"):
        if key not in obj:
            return f"missing {key!r}"
    labels = obj["labels"]
    if not isinstance(labels, list) or any(t not in TOPIC_IDS for t in labels):
        return f"bad labels {labels!r}"
    if obj["kind"] not in _KINDS:
        return f"bad kind {obj['kind']!r}"
    if obj["kind"] == "hard_negative" and labels:
        return "hard_negative with labels"
    if len(_WORD.findall(str(obj["text"]))) < 100:
        return "text shorter than 100 words"
    return None


class _Groups:
    """Union-find over story slugs."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, s: str) -> str:
        self.parent.setdefault(s, s)
        while self.parent[s] != s:
            self.parent[s] = self.parent[self.parent[s]]
            s = self.parent[s]
        return s

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        lo, hi = sorted((ra, rb))
        self.parent[hi] = lo
        return True


def build(data_dir: pathlib.Path, out: pathlib.Path = REAL_SET_PATH) -> BuildReport:
    """Merge the collector files into ``out``: validate, drop copies (same canonical URL or
    near-identical text), join stories of near-identical items into a group, and give each new
    item its split; items already in ``out`` keep theirs (the split is frozen)."""
    existing = {i.id: i for i in load_real(out)}
    fixes: dict[str, dict[str, object]] = (
        json.loads(FIXES_PATH.read_text(encoding="utf-8")) if FIXES_PATH.exists() else {}
    )
    rejected: list[str] = []
    candidates: list[dict[str, object]] = []
    read = 0
    for name, lineno, obj in _raw_items(data_dir):
        read += 1
        why = _check(obj)
        if why is not None:
            rejected.append(f"{name}:{lineno} {obj.get('id', '?')}: {why}")
            continue
        candidates.append(obj)
    seen_urls: dict[str, str] = {}
    kept: list[dict[str, object]] = []
    shingles: list[frozenset[str]] = []
    dup_urls = near = 0
    groups = _Groups()
    for obj in candidates:
        key = canonical_url(str(obj["url"]))
        story = str(obj["story"])
        groups.find(story)
        if key in seen_urls:
            dup_urls += 1
            groups.union(story, seen_urls[key])
            continue
        sh = _shingles(f"{obj['headline']}\n{obj['text']}")
        best = max(((_jaccard(sh, s), n) for n, s in enumerate(shingles)), default=(0.0, -1))
        if best[0] >= SAME_EVENT:
            groups.union(story, str(kept[best[1]]["story"]))
        if best[0] >= NEAR_DUPLICATE:
            near += 1
            continue
        seen_urls[key] = story
        kept.append(obj)
        shingles.append(sh)
    joined = sum(1 for s in groups.parent if groups.find(s) != s)
    items: list[RealItem] = []
    new = 0
    for obj in kept:
        item_id = str(obj["id"])
        group = groups.find(str(obj["story"]))
        old = existing.get(item_id)
        split = old.split if old is not None else real_split_of(group)
        new += old is None
        published = obj.get("published")
        fix = fixes.get(item_id)
        if fix is not None:
            obj = {
                **obj,
                "labels": list(fix["labels"]),  # type: ignore[call-overload]
                "why": f"{obj['why']} [label corrected in review: {fix['why']}]",
            }
        items.append(RealItem(
            id=item_id,
            url=str(obj["url"]),
            headline=str(obj["headline"]),
            text=str(obj["text"]),
            labels=tuple(str(t) for t in obj["labels"]),  # type: ignore[attr-defined]
            why=str(obj["why"]),
            story=str(obj["story"]),
            group=group,
            split=split,
            kind=str(obj["kind"]),
            published=None if published is None else str(published),
            source=str(obj.get("source", "")),
        ))
    _enforce_group_splits(items)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "".join(json.dumps(i.to_json(), ensure_ascii=False) + "\n" for i in items), encoding="utf-8"
    )
    return BuildReport(read, tuple(rejected), dup_urls, near, joined, len(items), new)


def _enforce_group_splits(items: list[RealItem]) -> None:
    """A group whose items were frozen into different splits (two stories joined later) goes
    wholly to ``test``: the held-out side must not share an event with dev."""
    by_group: dict[str, set[str]] = {}
    for i in items:
        by_group.setdefault(i.group, set()).add(i.split)
    for n, i in enumerate(items):
        if len(by_group[i.group]) > 1 and i.split != "test":
            items[n] = dataclasses.replace(i, split="test")


def default_data_dir() -> pathlib.Path:
    """``$NEWSMON_REAL_DATA`` or ``data11`` beside the repository."""
    env = os.environ.get("NEWSMON_REAL_DATA")
    return pathlib.Path(env) if env else REPO_ROOT.parent / "data11"


def main(argv: Sequence[str] | None = None) -> int:
    """Build or refresh the stored set and say what happened."""
    p = argparse.ArgumentParser(description="build benchmarks/data/real_reporting.jsonl")
    p.add_argument("data_dir", nargs="?", type=pathlib.Path, default=None)
    p.add_argument("--out", type=pathlib.Path, default=REAL_SET_PATH)
    args = p.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    if not data_dir.is_dir():
        p.error(f"{data_dir}: no such directory")
    r = build(data_dir, args.out)
    for line in r.rejected:
        print(f"rejected {line}", file=sys.stderr)
    items = load_real(args.out)
    by = {s: sum(1 for i in items if i.split == s) for s in ("dev", "test")}
    negs = sum(1 for i in items if i.kind == "hard_negative")
    print(
        f"read {r.read}; rejected {len(r.rejected)}; same URL {r.duplicate_urls}; near-identical "
        f"{r.near_duplicates}; stories joined {r.joined_stories}; kept {r.kept} ({r.new} new): "
        f"dev {by['dev']}, test {by['test']}; hard negatives {negs}; "
        f"groups {len({i.group for i in items})}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
