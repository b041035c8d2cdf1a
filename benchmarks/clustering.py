"""Story-clustering benchmark: does a copy of a story join it, and does a different story stay apart?

Corpus (``tests/data/clustering/``): 48 hand-written stories on the beat (``base_*.jsonl``, a copy of the
classification set: many are same-topic, same-week near misses of each other) plus 8 near-miss
pairs written for this benchmark (``near_misses.jsonl``: two Entity List rounds in one week, two chip
makers' charges from one rule, a ban and its price follow-up, a rule and its hearing).

From every story the script builds copies the way feeds produce them:

- ``syndicated``: same text, wire dateline and credit line added, headline with a site suffix;
- ``headline``: a rewritten headline, the first sentence reworded, the last paragraph dropped;
- ``reordered``: paragraphs reordered, one dropped;
- ``excerpt``: the first two paragraphs only (feeds that syndicate a teaser);
- ``spun``: a word spinner's rewrite (about half of the replaceable words swapped, seed 003's style);
- ``translated``: a heavier rewrite as a machine-translation round trip leaves it (seed 004's style):
  most words swapped, clauses turned around, sentences dropped, "$x billion" written out.

Positives are all pairs within one story's group, negatives all pairs across groups (near misses
included). Pairs are scored with :func:`alerts.cluster.score_pair` / :func:`alerts.cluster.match`, the
functions the pipeline uses; a streaming run (articles arrive in a shuffled order and join the best
matching story, as in :func:`alerts.pipeline.enqueue_alerts`) is scored too.

Thresholds were chosen on the ``dev`` split (group hash, as in the classification benchmark); the
figures that count are on ``test``. Floors: precision >= 0.98, recall >= 0.90.

Usage::

    python benchmarks/clustering.py            # prints the table, exits 1 below a floor
    python benchmarks/clustering.py --json     # machine-readable
    python benchmarks/clustering.py --errors   # also list the misclassified pairs
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alerts.cluster import Features, StoryIndex, features, match, score_pair

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "tests" / "data" / "clustering"
FLOORS = {"precision": 0.98, "recall": 0.90}


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    group: str
    kind: str
    title: str
    text: str
    event: str = ""  # items written separately about one event share it (same_event.json)


def split_of(group: str) -> str:
    return "test" if int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 10 < 4 else "dev"


def load_bases() -> list[Doc]:
    """Every base story; items written separately about one event (``same_event.json``) share ``event``."""
    alias = {b: a for a, b in json.loads((DATA / "same_event.json").read_text(encoding="utf-8"))["same_event"]}
    docs: list[Doc] = []
    for path in [*sorted(DATA.glob("base_*.jsonl")), DATA / "near_misses.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                event = alias.get(row["group"], row["group"])
                docs.append(Doc(row["id"], row["group"], "original", row["title"], row["text"], event))
    return docs


def load_synonyms() -> dict[str, list[str]]:
    data = json.loads((DATA / "spin.json").read_text(encoding="utf-8"))
    return {k: list(v) for k, v in data["synonyms"].items()}


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def sentences(par: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", par) if s.strip()]


def spin(text: str, syn: dict[str, list[str]], rng: random.Random, rate: float) -> str:
    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        choices = syn.get(word.lower())
        if not choices or rng.random() > rate:
            return word
        new = rng.choice(choices)
        return new[:1].upper() + new[1:] if word[:1].isupper() else new

    return re.sub(r"[A-Za-z]+", swap, text)


def turn_clauses(sentence: str, rng: random.Random) -> str:
    """"A, said B." -> "B said A."; "X, Y." -> "Y, X." sometimes — what translation round trips do."""
    m = re.match(r"^(.*?),? (said|says) (.+?)\.$", sentence)
    if m and rng.random() < 0.7:
        return f"{m.group(3)[:1].upper()}{m.group(3)[1:]} {m.group(2)} that {m.group(1)[:1].lower()}{m.group(1)[1:]}."
    parts = sentence.rstrip(".").split(", ", 1)
    if len(parts) == 2 and rng.random() < 0.4:
        return f"{parts[1][:1].upper()}{parts[1][1:]}, {parts[0][:1].lower()}{parts[0][1:]}."
    return sentence


def write_out_money(text: str) -> str:
    return re.sub(r"\$(\d[\d.,]*) (billion|million)", r"\1 \2 US dollars", text)


def variants(doc: Doc, syn: dict[str, list[str]]) -> list[Doc]:
    rng = random.Random(doc.id)
    pars = paragraphs(doc.text)
    out: list[Doc] = []

    def add(kind: str, title: str, text: str) -> None:
        out.append(Doc(f"{doc.id}/{kind}", doc.group, kind, title, text, doc.event))

    add("syndicated", f"{doc.title} | Asia Tech Wire",
        "HONG KONG (Wire) — " + doc.text + "\n\nReporting by staff; editing by the desk. Our standards: "
        "the Trust Principles.")
    first = sentences(pars[0])
    reworded_first = " ".join([spin(first[0], syn, rng, 1.0), *first[1:]])
    add("headline", spin(doc.title, syn, rng, 1.0) + " — analysis",
        "\n\n".join([reworded_first, *pars[1:-1]] if len(pars) > 2 else [reworded_first, *pars[1:]]))
    shuffled = pars[:]
    rng.shuffle(shuffled)
    add("reordered", doc.title, "\n\n".join(shuffled[:-1] if len(shuffled) > 3 else shuffled))
    add("excerpt", doc.title, "\n\n".join(pars[:2]))
    add("spun", spin(doc.title, syn, rng, 0.6), spin(doc.text, syn, rng, 0.5))
    translated: list[str] = []
    for par in pars:
        kept = [turn_clauses(s, rng) for s in sentences(par) if rng.random() > 0.15]
        if kept:
            translated.append(" ".join(kept))
    add("translated", "The " + spin(doc.title, syn, rng, 0.9),
        write_out_money(spin("\n\n".join(translated), syn, rng, 0.8)))
    return out


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, same: bool, predicted: bool) -> None:
        if same and predicted:
            self.tp += 1
        elif same:
            self.fn += 1
        elif predicted:
            self.fp += 1
        else:
            self.tn += 1

    def figures(self) -> dict[str, float | int]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "positives": self.tp + self.fn,
                "negatives": self.fp + self.tn, "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(frozen=True, slots=True)
class Pair:
    a: Doc
    b: Doc
    same: bool
    reason: str | None


def score_all(docs: list[Doc], feats: dict[str, Features]) -> list[Pair]:
    return [Pair(a, b, a.group == b.group, match(score_pair(feats[a.id], feats[b.id])))
            for a, b in itertools.combinations(docs, 2)]


def copy_kind(a: Doc, b: Doc) -> str:
    if a.kind == "original" and b.kind == "original":
        return "original"  # two hand-written items of one event (a corpus "rewrite")
    if "original" in (a.kind, b.kind):
        return b.kind if a.kind == "original" else a.kind
    return "copy~copy"


def tally_pairs(pairs: list[Pair], keep: Callable[[Pair], bool]) -> tuple[Tally, dict[str, float]]:
    tally = Tally()
    missed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for p in pairs:
        if not keep(p):
            continue
        tally.add(p.same, p.reason is not None)
        if p.same:
            kind = copy_kind(p.a, p.b)
            total[kind] += 1
            missed[kind] += p.reason is None
    return tally, {k: round(1 - missed[k] / n, 4) for k, n in sorted(total.items())}


CYCLE = 20  # articles per simulated cycle: the pipeline rebuilds its story index once per cycle


def streaming(docs: list[Doc], feats: dict[str, Features]) -> Tally:
    """Cluster in a shuffled arrival order exactly like the pipeline (a :class:`StoryIndex` built from
    the stored members at the start of each cycle of ``CYCLE`` articles); score the partition pairwise."""
    order = docs[:]
    random.Random(7).shuffle(order)
    story_of: dict[str, int] = {}
    members: list[tuple[int, int, Features]] = []
    for start in range(0, len(order), CYCLE):
        index = StoryIndex(members)
        for i, doc in enumerate(order[start : start + CYCLE], start):
            found = index.best_match(feats[doc.id])
            story = found.story_id if found else i
            story_of[doc.id] = story
            index.add(story, i, feats[doc.id])
            members.append((story, i, feats[doc.id]))
    tally = Tally()
    for a, b in itertools.combinations(docs, 2):
        if a.group != b.group and a.event == b.event:
            continue  # separately written reports of one event: not scored
        tally.add(a.group == b.group, story_of[a.id] == story_of[b.id])
    return tally


def run(show_errors: bool = False, splits: tuple[str, ...] = ("dev", "test", "all")) -> dict[str, object]:
    """Score the corpus; ``splits`` limits the work (the unit test scores ``test`` only)."""
    syn = load_synonyms()
    bases = [b for b in load_bases() if "all" in splits or split_of(b.group) in splits]
    docs = [d for base in bases for d in [base, *variants(base, syn)]]
    feats = {d.id: features(d.title, d.text) for d in docs}
    pairs = score_all(docs, feats)
    independent = [p for p in pairs if not p.same and p.a.event == p.b.event]
    pairs = [p for p in pairs if p.same or p.a.event != p.b.event]
    near = [p for p in pairs if p.a.group.startswith("nm-") and p.a.group[:5] == p.b.group[:5] and not p.same]
    result: dict[str, object] = {
        "near_misses": {
            "pairs": len(near),
            "merged": sum(p.reason is not None for p in near),
            "note": "two different stories of one week on one subject (near_misses.jsonl), all copies",
        },
        "independent_reports": {
            "pairs": len(independent),
            "matched": sum(p.reason is not None for p in independent),
            "note": "separately written reports of one event (same_event.json): neither positive nor "
                    "negative in the figures above; listed for information",
        }
    }
    for split in splits:
        chosen = [d for d in docs if split == "all" or split_of(d.group) == split]
        ids = {d.id for d in chosen}
        tally, by_kind = tally_pairs(pairs, lambda p, ids=ids: p.a.id in ids and p.b.id in ids)  # type: ignore[misc]
        result[split] = {
            "documents": len(chosen),
            "stories": len({d.group for d in chosen}),
            "pairs": tally.figures(),
            "streaming": streaming(chosen, feats).figures(),
            "recall_by_kind": by_kind,
        }
    if show_errors:
        result["errors"] = [
            f"{'MISS ' if p.same else 'FALSE'} {p.a.id} ~ {p.b.id} ({p.reason}) "
            f"{score_pair(feats[p.a.id], feats[p.b.id])}"
            for p in pairs if p.same != (p.reason is not None)
        ]
    return result


def _check(result: dict[str, object], echo: Callable[[str], None]) -> bool:
    ok = True
    test = result["test"]
    assert isinstance(test, dict)
    for view in ("pairs", "streaming"):
        for key, floor in FLOORS.items():
            value = test[view][key]
            if value < floor:
                ok = False
                echo(f"BELOW FLOOR: test {view} {key} = {value} < {floor}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--errors", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.errors)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for split in ("dev", "test", "all"):
            r = result[split]
            assert isinstance(r, dict)
            p, s = r["pairs"], r["streaming"]
            print(f"{split:5} {r['documents']:4} docs {r['stories']:3} stories | pairs P={p['precision']:.4f} "
                  f"R={p['recall']:.4f} ({p['positives']} pos, {p['negatives']} neg, {p['fp']} FP, {p['fn']} FN)"
                  f" | streaming P={s['precision']:.4f} R={s['recall']:.4f}")
            print(f"      recall by copy kind: {r['recall_by_kind']}")
        print(f"near misses: {result['near_misses']}")
        print(f"independent reports of one event: {result['independent_reports']}")
        errors = result.get("errors", [])
        assert isinstance(errors, list)
        for line in errors:
            print(line)
    return 0 if _check(result, print) else 1


if __name__ == "__main__":
    raise SystemExit(main())
