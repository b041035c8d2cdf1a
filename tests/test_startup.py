"""Commands that run no flow start fast: they never import Prefect (≈1.4 s and 50+ MB), nor the
MinHash library (numpy + scipy) unless they cluster articles, nor numpy/trafilatura unless they
classify or extract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PAGE = ("<html><head><title>Chip rules tightened</title></head><body><article><h1>Chip rules tightened</h1>"
        "<p>The Commerce Department tightened export controls on advanced AI chips to China on Thursday, "
        "officials said, adding dozens of Chinese companies to the Entity List.</p><p>Nvidia said it would "
        "comply with the rules and that its H20 sales would need a licence from now on.</p></article>"
        "</body></html>")

PROBE = """
import json, sys
from newsmon.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
heavy = ("prefect", "datasketch", "scipy", "numpy", "trafilatura")
print(json.dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)
"""

# (command, heavy modules it needs): extract needs trafilatura, classify its model (numpy)
COMMANDS = [
    (["--help"], []),
    (["extract", "{page}"], ["numpy", "trafilatura"]),
    (["classify", "{items}"], ["numpy"]),
    (["articles"], []),
    (["alerts"], []),
    (["topics"], []),
    (["search", "chips"], []),
]


@pytest.mark.parametrize(("command", "needed"), COMMANDS, ids=[c[0] for c, _ in COMMANDS])
def test_commands_without_a_flow_do_not_import_prefect(tmp_path: Path, command: list[str],
                                                       needed: list[str]) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"title": "Nvidia H20 licence", "text": "Commerce told Nvidia it needs a "
                                 "licence to export H20 chips to China."}) + "\n", encoding="utf-8")
    config = tmp_path / "newsmon.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "news.db"}"\n', encoding="utf-8")
    args = [a.format(page=page, items=items) for a in command]
    proc = subprocess.run([sys.executable, "-c", PROBE, "--config", str(config), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = json.loads(proc.stderr.strip().splitlines()[-1])
    assert sorted(set(imported) - set(needed)) == [], f"newsmon {' '.join(command)} imported {imported}"


def test_the_probe_sees_prefect_when_a_flow_module_is_imported(tmp_path: Path) -> None:
    """The check above can fail: importing the cycle flow does pull Prefect in."""
    proc = subprocess.run([sys.executable, "-c", "import sys, flows.cycle; print('prefect' in sys.modules)"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "True", proc.stderr


SERVER_PROBE = """
import json, sys
from flows.localserver import start_ephemeral_server
start_ephemeral_server()
print(json.dumps("prefect.server.api.server" in sys.modules))
"""


@pytest.mark.parametrize("api_url", ["http://127.0.0.1:9/api", ""])
def test_prefects_server_is_imported_only_when_no_server_is_given(api_url: str, tmp_path: Path) -> None:
    """With PREFECT_API_URL set, a run talks to that server: importing Prefect's own server module (seconds
    of start-up) would be waste. Without it, the ephemeral server is started, so the module is needed."""
    import os

    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api_url}
    if not api_url:
        env.pop("PREFECT_API_URL")
    proc = subprocess.run([sys.executable, "-c", SERVER_PROBE], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) is (not api_url)
