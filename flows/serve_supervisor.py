"""The ``newsmon serve`` process: a local Prefect server if needed, the runner child, clean stops.

Process layout (each child in its own session, so a Ctrl-C typed in the terminal reaches only
this process, which decides what the children do)::

    newsmon serve                 supervise(): signals, exit code
    ├── prefect server start      only without PREFECT_API_URL (flows.localserver)
    └── python -m flows.serve     the Prefect runner; its cycles run in its own child processes

First SIGINT/SIGTERM: the runner stops taking runs and exits once the running cycle is done; then the
local server is stopped. A second one cancels the running cycle. Exit code 130 after Ctrl-C, 0 after
SIGTERM, the runner's code if it ended by itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import click

from flows.localserver import LocalPrefectServer

__all__ = ["supervise"]


def supervise(*, name: str, interval: int | None, cron: str | None, config_path: str | None,
              prefect_home: Path | None, api_url: str | None) -> int:
    """Serve the cycle until stopped; returns the exit code."""
    from flows.serve import ServeSpec

    spec = ServeSpec(name=name, interval=interval, cron=cron, config_path=config_path)
    schedule = f"cron {cron!r}" if cron else f"every {interval} s"
    received: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if child is None:
            raise _StoppedBeforeStart
        if child.poll() is not None:
            return
        if len(received) == 1:
            click.echo("newsmon: stopping once the running cycle is done (Ctrl-C again cancels it) …", err=True)
            child.send_signal(signal.SIGTERM)
        else:
            child.send_signal(signal.SIGINT)

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with contextlib.ExitStack() as stack:
            env = dict(os.environ)
            if api_url is None:
                if prefect_home is None:
                    raise ValueError("prefect_home is needed to start a local Prefect server")
                click.echo(f"newsmon: starting a local Prefect server (state in {prefect_home}) …", err=True)
                api_url = stack.enter_context(LocalPrefectServer(prefect_home))
                env["PREFECT_HOME"] = str(prefect_home)
            env["PREFECT_API_URL"] = api_url
            click.echo(f"newsmon: serving deployment {name!r} ({schedule}) on {api_url}; Ctrl-C stops", err=True)
            child = subprocess.Popen(
                [sys.executable, "-m", "flows.serve", spec.to_json()], env=env, start_new_session=True,
            )
            code = child.wait()
        return _exit_code(received, code)
    except _StoppedBeforeStart:
        return _exit_code(received, 0)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        for sig, handler in old.items():
            signal.signal(sig, handler)


class _StoppedBeforeStart(Exception):
    """A stop signal arrived before the runner was started."""


def _exit_code(received: list[int], child_code: int) -> int:
    if not received:
        return child_code
    if received[0] == signal.SIGINT:
        return 130
    return 0
