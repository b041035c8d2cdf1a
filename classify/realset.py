"""The labelled set from real reporting: build it from collector files, dedupe, freeze the split.

The set (``benchmarks/data/real_reporting.jsonl``) holds news coverage of the beat written by
newsrooms (wire copy, US and Chinese outlets, translations), one JSON object per line::

    {"id", "url", "headline", "text", "labels": [topic ids], "why", "story", "group", "split",
     "kind": "positive" | "hard_negative", "published", "source"}

- ``story`` names the event (items on one event share it); ``group`` joins stories whose items are
  near-identical or share a URL, or whose slugs name the same event (:func:`same_event`), so no
  event sits on both sides of the split.
- ``split``: whole groups go to ``test`` (held out) or ``dev``, about 30 / 70 within each stratum
  (groups with an alert item, hard negatives, the rest), new groups taken in sha256 order of their
  name (:func:`_assign_splits`). It is decided once, when a group enters the file, and written into
  it: re-running the build keeps every existing item's split (and a new item joins its group's).

Build (from the repository root): ``python -m classify.realset [DATA_DIR]``; DATA_DIR holds the
collectors' ``positives_*.jsonl`` and ``negatives.jsonl`` (default ``$NEWSMON_REAL_DATA`` or
``../data11`` beside the repository).
"""

from __future__ import annotations

import argparse
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
]

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
REAL_SET_PATH = REPO_ROOT / "benchmarks" / "data" / "real_reporting.jsonl"
FIXES_PATH = REPO_ROOT / "benchmarks" / "data" / "real_reporting_fixes.json"
"""Label corrections made while reviewing the collectors' items (before the split was used for
tuning, without looking at predictions): ``{url: {"labels": [...], "why": "..."}}``."""
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
TEST_SHARE = 0.3
"""Share of each stratum's items held out (see :func:`_assign_splits`)."""
ALERT_TOPICS = ("chip-export", "cloud-policy")
"""A hard negative may carry other topics (a chip fund is investment) but never an alert topic."""
_WORD = re.compile(r"\w+")
SLUG_OVERLAP = 0.66
"""Two story slugs name one event (or one running story) when, dates and generic words removed,
at least two words are shared and they make up this share of the shorter slug
("2024-05-big-fund-iii-launch" ~ "china-big-fund-phase-iii")."""
_SLUG_STOP = frozenset({"china", "chinese", "us", "ai", "the", "of", "and", "to", "in", "a", "for",
                        "on", "by", "with", "over", "new"})
_SLUG_DATE = re.compile(r"(19|20)\d\d|\d\d|q\d|h\d")


def slug_words(story: str) -> frozenset[str]:
    """The distinctive words of a story slug (no dates, no generic words)."""
    return frozenset(
        w for w in story.lower().split("-")
        if w and not _SLUG_DATE.fullmatch(w) and w not in _SLUG_STOP
    )


def same_event(a: str, b: str) -> bool:
    """Do two story slugs name the same event (see :data:`SLUG_OVERLAP`)?"""
    wa, wb = slug_words(a), slug_words(b)
    shared = len(wa & wb)
    return shared >= 2 and shared / min(len(wa), len(wb)) >= SLUG_OVERLAP


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
    notes: tuple[str, ...]
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


def _stable_id(
    obj: dict[str, object], by_url: dict[str, RealItem], taken: set[str]
) -> dict[str, object]:
    """The object with the id it has in the stored set: an article already stored (same canonical
    URL) keeps its stored id even when a collector renumbers its file; a new article whose
    collector id is held by another stored article gets a free ``-N`` suffix."""
    old = by_url.get(canonical_url(str(obj["url"])))
    if old is not None:
        return {**obj, "id": old.id}
    item_id = str(obj["id"])
    n = 2
    while item_id in taken:
        item_id = f"{obj['id']}-{n}"
        n += 1
    taken.add(item_id)
    return {**obj, "id": item_id}


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
    if obj["kind"] == "hard_negative" and any(t in ALERT_TOPICS for t in labels):
        return "hard_negative labelled with an alert topic"
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
    stored = load_real(out)
    by_url = {canonical_url(i.url): i for i in stored}
    taken = {i.id for i in stored}
    fixes: dict[str, dict[str, object]] = (
        json.loads(FIXES_PATH.read_text(encoding="utf-8")) if FIXES_PATH.exists() else {}
    )
    rejected: list[str] = []
    notes: list[str] = []
    candidates: list[dict[str, object]] = []
    read = 0
    for name, lineno, obj in _raw_items(data_dir):
        read += 1
        why = _check(obj)
        if why is not None:
            rejected.append(f"{name}:{lineno} {obj.get('id', '?')}: {why}")
            continue
        candidates.append(_stable_id(obj, by_url, taken))
    # items already in the file first: a copy found later never displaces a frozen item
    existing = {i.id: i for i in stored}
    candidates.sort(key=lambda o: str(o["id"]) not in existing)
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
            n_first = next(n for n, o in enumerate(kept) if canonical_url(str(o["url"])) == key)
            first = kept[n_first]
            mine: list[str] = list(first["labels"])  # type: ignore[call-overload]
            theirs: list[str] = list(obj["labels"])  # type: ignore[call-overload]
            if set(mine) != set(theirs):
                merged = [t for t in TOPIC_IDS if t in mine or t in theirs]
                notes.append(f"{first['id']}: same URL as {obj['id']}; labels {mine} + {theirs} "
                             f"-> {merged}")
                kept[n_first] = {
                    **first,
                    "labels": merged,
                    "why": f"{first['why']} [labels merged with {obj['id']}, a second "
                           f"collector's reading of the same article: {theirs}]",
                }
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
    slugs = sorted(groups.parent)
    for n, a in enumerate(slugs):
        for b in slugs[n + 1 :]:
            if same_event(a, b):
                groups.union(a, b)
    joined = sum(1 for s in groups.parent if groups.find(s) != s)
    by_group: dict[str, list[dict[str, object]]] = {}
    for obj in kept:
        by_group.setdefault(groups.find(str(obj["story"])), []).append(obj)
    splits = _assign_splits(by_group, existing)
    items: list[RealItem] = []
    new = 0
    for obj in kept:
        item_id = str(obj["id"])
        group = groups.find(str(obj["story"]))
        new += item_id not in existing
        published = obj.get("published")
        fix = fixes.get(str(obj["url"]))
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
            split=splits[group],
            kind=str(obj["kind"]),
            published=None if published is None else str(published),
            source=str(obj.get("source", "")),
        ))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "".join(json.dumps(i.to_json(), ensure_ascii=False) + "\n" for i in items), encoding="utf-8"
    )
    return BuildReport(read, tuple(rejected), tuple(notes), dup_urls, near, joined, len(items), new)


def _stratum(objs: Sequence[dict[str, object]]) -> str:
    """A group's stratum for the split: holds an alert item, else a hard negative, else other."""
    if any(t in ALERT_TOPICS for o in objs for t in o["labels"]):  # type: ignore[attr-defined]
        return "alert"
    if any(o["kind"] == "hard_negative" for o in objs):
        return "hard_negative"
    return "other"


def _assign_splits(
    by_group: dict[str, list[dict[str, object]]], existing: dict[str, RealItem]
) -> dict[str, str]:
    """The split of every group. A group with an item already in the file keeps that item's split
    (frozen; the first such item in file order decides if a later join mixed them). A new group goes,
    in sha256 order of its name, to ``test`` when that keeps the held-out share of its stratum
    (alert / hard negative / other items) at or below :data:`TEST_SHARE`, else to ``dev``: a split stratified
    by label, decided without any prediction, and the same for the same files."""
    splits: dict[str, str] = {}
    totals: dict[str, int] = {}
    held: dict[str, int] = {}
    for group, objs in by_group.items():
        st = _stratum(objs)
        totals[st] = totals.get(st, 0) + len(objs)
        frozen = [existing[str(o["id"])].split for o in objs if str(o["id"]) in existing]
        if frozen:
            splits[group] = frozen[0]
            if frozen[0] == "test":
                held[st] = held.get(st, 0) + len(objs)
    fresh = sorted(
        (g for g in by_group if g not in splits),
        key=lambda g: hashlib.sha256(f"real:{g}".encode()).hexdigest(),
    )
    for group in fresh:
        st = _stratum(by_group[group])
        if held.get(st, 0) + len(by_group[group]) <= TEST_SHARE * totals[st]:
            splits[group] = "test"
            held[st] = held.get(st, 0) + len(by_group[group])
        else:
            splits[group] = "dev"
    return splits


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
    for line in r.notes:
        print(f"note: {line}", file=sys.stderr)
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
