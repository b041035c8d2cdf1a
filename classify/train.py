"""Train the small linear model shipped beside the rules (``classify/data/model.json``).

Usage (from the repository root; needs scikit-learn, which only this build step imports)::

    python -m classify.train            # train on the dev split + topic-file examples, write model
    python -m classify.train --cv 5     # dev-split cross-validation of rules / model / blend
    python -m classify.train --cv 5 --jackknife regulation,foundation-models
                                        # ... and also hold the vocabulary out (see below)
    python -m classify.train --real-cv 5 --weights 0,0.3,0.5
                                        # group-k-fold CV on the real-reporting dev split

Training data: every ``dev`` item of ``tests/data/classification`` (hand-written) and of
``benchmarks/data/real_reporting.jsonl`` (real reporting) — never a ``test`` split: the held-out
figures must stay honest — plus each topic's ``examples`` from the topic file. Topics with too few
positives get no model weights and are classified by their rules alone, as are topics a user adds
later. The output is deterministic for the same inputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
from collections.abc import Callable, Sequence

from classify.classifier import Classifier
from classify.evaluation import Figures, Item, evaluate, load_items, load_real_items
from classify.model import DEFAULT_MODEL_PATH, LinearModel, _TopicWeights, features
from classify.text import PhraseMatcher, join_tokens, tokenize
from classify.topics import Topic, TopicFile, load_topic_file

MIN_POSITIVES = 5
MAX_FEATURES = 4000
C = 4.0
WEIGHT_DECIMALS_CUTOFF = 1e-3


def build_model(items: Sequence[Item], tf: TopicFile) -> LinearModel:
    """Fit TF-IDF + one logistic regression per topic on the items and topic examples."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    docs = [f"{i.title}\n{i.text}" for i in items]
    labels = [set(i.topics) for i in items]
    for topic in tf.topics:
        for example in topic.examples:
            docs.append(example)
            labels.append({topic.id})
    vectorizer = TfidfVectorizer(
        analyzer=features, sublinear_tf=True, min_df=2, max_features=MAX_FEATURES
    )
    matrix = vectorizer.fit_transform(docs)
    names = vectorizer.get_feature_names_out()
    idf = {str(f): float(v) for f, v in zip(names, vectorizer.idf_, strict=True)}
    topics: dict[str, _TopicWeights] = {}
    for topic in tf.topics:
        y = [1 if topic.id in lab else 0 for lab in labels]
        if sum(y) < MIN_POSITIVES or sum(y) == len(y):
            continue
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        lr.fit(matrix, y)
        weights = {
            str(f): float(w)
            for f, w in zip(names, lr.coef_[0], strict=True)
            if abs(w) >= WEIGHT_DECIMALS_CUTOFF
        }
        topics[topic.id] = _TopicWeights(intercept=float(lr.intercept_[0]), weights=weights)
    return LinearModel(idf=idf, topics=topics)


def cross_validate(items: Sequence[Item], tf: TopicFile, folds: int) -> None:
    """Print dev-split cross-validated alert and per-topic F1 for rules, model-only and blend."""
    groups = sorted({i.group for i in items})
    topic_ids = [t.id for t in tf.topics]
    preds: dict[str, dict[str, tuple[str, ...]]] = {"rules": {}, "blend": {}}
    for k in range(folds):
        held = {g for n, g in enumerate(groups) if n % folds == k}
        train = [i for i in items if i.group not in held]
        model = build_model(train, tf)
        rules = Classifier(tf.topics, scope=tf.scope)
        blend = Classifier(tf.topics, scope=tf.scope, model=model)
        for i in items:
            if i.group in held:
                preds["rules"][i.id] = rules.classify(i.title, i.text).topics
                preds["blend"][i.id] = blend.classify(i.title, i.text).topics
    by_key = {(i.title, i.text): i.id for i in items}
    for name, table in preds.items():
        fig = evaluate(items, _lookup(table, by_key), topic_ids)
        per = " ".join(f"{t[:6]}={fig.per_topic[t].f1:.2f}" for t in topic_ids)
        print(
            f"{name:<6} alert P={fig.alert.precision:.3f} R={fig.alert.recall:.3f} "
            f"macroF1={fig.macro_f1:.3f} | {per}"
        )


def vocabulary_jackknife(
    items: Sequence[Item], tf: TopicFile, folds: int, topic_ids: Sequence[str]
) -> None:
    """Grouped CV that also holds out the *vocabulary* learnt from the held-out fold.

    ``--cv`` retrains the model per fold but keeps the topic file, whose phrases were written while
    looking at all of dev, so its rules are scored in-sample. Here, for each fold and each topic in
    ``topic_ids``, a phrase (vocabulary or rule group) is removed when the dev positives of that
    topic that contain it all lie in the held-out fold: a tuner who had never seen the fold would
    not have written it. Phrases no dev positive contains (general vocabulary written from the
    contract) stay. The model is retrained on the training folds; prints blended figures.
    """
    groups = sorted({i.group for i in items})
    phrases: set[str] = set()
    for t in tf.topics:
        phrases.update(t.vocabulary)
        for r in t.rules:
            phrases.update(p for g in r.all_of for p in g)
    matcher = PhraseMatcher(sorted(phrases))
    present = {
        i.id: set(matcher.find(join_tokens(tokenize(i.title), tokenize(i.text)))) for i in items
    }

    def support(topic_id: str, subset: Sequence[Item]) -> set[str]:
        out: set[str] = set()
        for i in subset:
            if topic_id in i.topics:
                out |= present[i.id]
        return out

    table: dict[str, tuple[str, ...]] = {}
    for k in range(folds):
        held = {g for n, g in enumerate(groups) if n % folds == k}
        train = [i for i in items if i.group not in held]
        topics: list[Topic] = []
        for t in tf.topics:
            if t.id in topic_ids:
                drop = support(t.id, items) - support(t.id, train)
                t = dataclasses.replace(
                    t,
                    vocabulary={p: w for p, w in t.vocabulary.items() if p not in drop},
                    rules=tuple(
                        dataclasses.replace(
                            r,
                            all_of=tuple(
                                tuple(p for p in g if p not in drop) or g for g in r.all_of
                            ),
                        )
                        for r in t.rules
                    ),
                )
            topics.append(t)
        clf = Classifier(topics, scope=tf.scope, model=build_model(train, tf))
        for i in items:
            if i.group in held:
                table[i.id] = clf.classify(i.title, i.text).topics
    by_key = {(i.title, i.text): i.id for i in items}
    fig = evaluate(items, _lookup(table, by_key), [t.id for t in tf.topics])
    print(
        f"vocabulary jackknife ({', '.join(topic_ids)}): alert P={fig.alert.precision:.3f} "
        f"R={fig.alert.recall:.3f} macroF1={fig.macro_f1:.3f}"
    )
    for t in tf.topics:
        f = fig.per_topic[t.id]
        print(f"  {t.id:<18} P={f.precision:.2f} R={f.recall:.2f} F1={f.f1:.2f}")


def _lookup(
    table: dict[str, tuple[str, ...]], by_key: dict[tuple[str, str], str]
) -> Callable[[str, str], tuple[str, ...]]:
    """A predictor that returns precomputed topics for an item (found by title and text)."""

    def predict(title: str, text: str) -> tuple[str, ...]:
        return table[by_key[(title, text)]]

    return predict


def training_items() -> list[Item]:
    """What the shipped model learns from: the dev splits of both labelled sets (hand-written
    and real reporting). Never a ``test`` split."""
    return load_items(split="dev") + load_real_items(split="dev")


def group_folds(items: Sequence[Item], folds: int) -> list[set[str]]:
    """``folds`` disjoint sets of story groups (sorted groups dealt round-robin by a hash, so the
    assignment does not depend on file order)."""
    import hashlib

    groups = sorted(
        {i.group for i in items}, key=lambda g: hashlib.sha256(f"fold:{g}".encode()).hexdigest()
    )
    return [{g for n, g in enumerate(groups) if n % folds == k} for k in range(folds)]


def cv_real(
    folds: int,
    tf: TopicFile,
    model_weights: Sequence[float],
    *,
    with_real_text: bool = True,
) -> dict[float, Figures]:
    """Group-k-fold CV on the real-reporting **dev** split: per fold, the model is trained on the
    hand-written dev split (+ the other real dev folds when ``with_real_text``) and each held-out
    real item is classified with every model weight. Returns figures per weight."""
    real = load_real_items(split="dev")
    written = load_items(split="dev")
    tables: dict[float, dict[str, tuple[str, ...]]] = {w: {} for w in model_weights}
    for held in group_folds(real, folds):
        train = written + ([i for i in real if i.group not in held] if with_real_text else [])
        model = build_model(train, tf)
        for w in model_weights:
            clf = Classifier(tf.topics, scope=tf.scope, model=model, model_weight=w)
            for i in real:
                if i.group in held:
                    tables[w][i.id] = clf.classify(i.title, i.text).topics
    by_key = {(i.title, i.text): i.id for i in real}
    ids = [t.id for t in tf.topics]
    return {w: evaluate(real, _lookup(t, by_key), ids) for w, t in tables.items()}


def format_figures(name: str, fig: Figures) -> str:
    """One line: alert P/R, macro F1, hard negatives alerted, per-topic F1."""
    per = " ".join(f"{t[:6]}={p.f1:.2f}" for t, p in fig.per_topic.items())
    return (
        f"{name:<14} alert P={fig.alert.precision:.3f} R={fig.alert.recall:.3f} "
        f"(fp={fig.alert.fp} fn={fig.alert.fn}) macroF1={fig.macro_f1:.3f} "
        f"hardneg={fig.hard_negatives_alerted}/{fig.hard_negatives} | {per}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Train and write the model (or cross-validate with ``--cv``)."""
    p = argparse.ArgumentParser(description="train classify/data/model.json from the dev split")
    p.add_argument("--cv", type=int, default=0, help="cross-validate on dev with N folds")
    p.add_argument(
        "--jackknife",
        default="",
        help="with --cv: comma-separated topics whose vocabulary is also held out per fold",
    )
    p.add_argument("--real-cv", type=int, default=0,
                   help="group-k-fold CV on the real-reporting dev split with N folds")
    p.add_argument("--weights", default="0,0.3,0.5",
                   help="with --real-cv: model weights to compare (comma-separated)")
    p.add_argument("--out", type=pathlib.Path, default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    tf = load_topic_file()
    if args.real_cv:
        weights = [float(w) for w in args.weights.split(",")]
        for real_text in (False, True):
            figs = cv_real(args.real_cv, tf, weights, with_real_text=real_text)
            for w, fig in figs.items():
                label = f"w={w:g}" + (" +real" if real_text else " written")
                print(format_figures(label, fig))
        return 0
    items = training_items()
    if args.cv:
        cross_validate(items, tf, args.cv)
        if args.jackknife:
            wanted = [t.strip() for t in args.jackknife.split(",") if t.strip()]
            unknown = sorted(set(wanted) - {t.id for t in tf.topics})
            if unknown:
                p.error(f"--jackknife: unknown topic(s) {', '.join(unknown)}")
            vocabulary_jackknife(items, tf, args.cv, wanted)
        return 0
    model = build_model(items, tf)
    doc = model.to_json()
    doc["trained_on"] = {
        "split": "dev",
        "sets": ["written", "real"],
        "items": len(items),
        "real_ids": sorted(i.id for i in items if i.fixed_split),
    }
    args.out.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.0f} KiB; {len(items)} dev items; "
          f"topics with model: {', '.join(sorted(model.topic_ids))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
