"""Building the real-reporting set from collector files: validation, copies, story groups, the
frozen split, label fixes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classify import realset
from classify.realset import build, canonical_url, load_real, same_event

_TEXT = " ".join(f"word{n}" for n in range(130))


def _obj(item_id: str, url: str, story: str, labels: list[str], kind: str = "positive",
         text: str = _TEXT) -> dict[str, object]:
    return {"id": item_id, "url": url, "headline": f"headline {item_id}", "text": text,
            "labels": labels, "why": "because", "story": story, "kind": kind,
            "published": None, "source": "wire"}


def _write(path: Path, objs: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")


@pytest.fixture(autouse=True)
def _no_fixes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(realset, "FIXES_PATH", tmp_path / "no-fixes.json")


def test_copies_are_dropped_and_stories_grouped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    other = " ".join(f"other{n}" for n in range(130))
    _write(data / "positives_a.jsonl", [
        _obj("a-1", "https://www.example.com/x?utm_source=feed", "2024-05-big-fund-iii-launch",
             ["investment"]),
        _obj("a-2", "https://example.com/y", "zz-unrelated-event-one", ["talent"], text=other),
    ])
    with (data / "positives_a.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"id": "a-3", "url": "https://exa')  # being written: skipped, not fatal
    _write(data / "positives_b.jsonl", [
        _obj("b-1", "http://example.com/x/", "big-fund-iii-other-slug", ["investment", "talent"]),
        _obj("b-2", "https://example.com/z", "china-big-fund-phase-iii", ["investment"],
             text=_TEXT + " extra"),  # near-identical text to a-1: a copy
        _obj("b-3", "https://example.com/w", "zz-bad", ["no-such-topic"]),
    ])
    _write(data / "negatives.jsonl", [
        _obj("n-1", "https://example.com/n", "potato-chips", [], kind="hard_negative",
             text=" ".join(f"snack{n}" for n in range(130))),
        _obj("n-2", "https://example.com/n2", "chip-fund", ["chip-export"], kind="hard_negative"),
    ])
    out = tmp_path / "set.jsonl"
    report = build(data, out)
    assert report.duplicate_urls == 1 and report.near_duplicates == 1
    assert [r.split(":")[0] for r in report.rejected] == ["positives_b.jsonl", "negatives.jsonl"]
    items = {i.id: i for i in load_real(out)}
    assert sorted(items) == ["a-1", "a-2", "n-1"]
    assert items["a-1"].labels == ("investment", "talent")  # same article, two readings: merged
    assert "labels merged with b-1" in items["a-1"].why
    # b-1 (same URL) and b-2 (same text) join a-1's story; their slugs name one event anyway
    assert items["a-1"].group == "2024-05-big-fund-iii-launch"
    assert items["a-2"].group == "zz-unrelated-event-one"
    assert {i.split for i in items.values()} <= {"dev", "test"}


def test_split_is_frozen_when_collectors_renumber(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    objs = [_obj(f"a-{n}", f"https://example.com/{n}", f"event-{n}-{'x' * n}", ["talent"],
                 text=" ".join(f"w{n}x{k}" for k in range(130))) for n in range(1, 21)]
    _write(data / "positives_a.jsonl", objs)
    out = tmp_path / "set.jsonl"
    build(data, out)
    first = {i.url: (i.id, i.split) for i in load_real(out)}
    assert 0 < sum(s == "test" for _, s in first.values()) < 20
    # the collector drops one item, renumbers the rest and adds a new one with a reused id
    renumbered = [{**o, "id": f"a-{n}"} for n, o in enumerate(objs[1:], 1)]
    renumbered.append(_obj("a-20", "https://example.com/new", "event-new", ["talent"],
                           text=" ".join(f"fresh{k}" for k in range(130))))
    _write(data / "positives_a.jsonl", renumbered)
    build(data, out)
    second = {i.url: (i.id, i.split) for i in load_real(out)}
    for url, was in first.items():
        if url in second:
            assert second[url] == was  # same id, same split
    assert second["https://example.com/new"][0] == "a-20-2"


def test_label_fixes_apply_by_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "positives_b.jsonl", [
        _obj("b-1", "https://example.com/a", "s-1", ["cloud-policy", "cloud-competition"])])
    fixes = tmp_path / "fixes.json"
    fixes.write_text(json.dumps({"https://example.com/a": {
        "labels": ["cloud-policy"], "why": "precedence"}}))
    monkeypatch.setattr(realset, "FIXES_PATH", fixes)
    out = tmp_path / "set.jsonl"
    build(data, out)
    (item,) = load_real(out)
    assert item.labels == ("cloud-policy",)
    assert "[label corrected in review: precedence]" in item.why


def test_story_slugs_and_urls() -> None:
    assert same_event("2024-05-big-fund-iii-launch", "china-big-fund-phase-iii")
    assert same_event("2022-12-pentagon-jwcc-award", "2021-11-pentagon-jwcc-solicitation")
    assert not same_event("2025-04-nvidia-h20-license-requirement", "2025-07-nvidia-h20-sales-resume")
    assert not same_event("china-ai-model-filing-system", "china-ai-services-registry-guide")
    assert canonical_url("https://www.Example.com/a/b/?x=1#f") == canonical_url("http://example.com/a/b")
    assert canonical_url("https://example.com/a/amp") == canonical_url("https://example.com/a")


def test_malformed_stored_line_names_file_and_line(tmp_path: Path) -> None:
    out = tmp_path / "set.jsonl"
    out.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"set.jsonl:1: "):
        load_real(out)
