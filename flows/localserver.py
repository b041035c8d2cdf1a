"""A local Prefect server that ``newsmon serve`` starts and stops itself.

Prefect turns schedules into runs only in a server's scheduler service; its ephemeral in-process
API never schedules. So when no ``PREFECT_API_URL`` is set, ``newsmon serve`` starts
``prefect server start`` on 127.0.0.1 (a free port) with its state in ``prefect_home`` (by default
``prefect/`` in newsmon's data directory), waits until it answers, and stops it on exit.

While it runs, ``prefect_home/server.json`` names its URL and a lock file is held, so a manual
``newsmon run`` on the same machine uses that server instead of starting an ephemeral one
(:func:`running_local_server`), and a second ``newsmon serve`` on the same data directory is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from newsmon.errors import NewsmonError

__all__ = ["LocalPrefectServer", "LocalServerError", "running_local_server"]

STATE_FILE = "server.json"
LOCK_FILE = "server.lock"
LOG_FILE = "server.log"


class LocalServerError(NewsmonError):
    """The local Prefect server could not be started (the message says why and where its log is)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    """True when the Prefect API at ``api_url`` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _lock_held_elsewhere(home: Path) -> bool:
    """True when another process holds ``home/server.lock`` (a serve with a live server)."""
    path = home / LOCK_FILE
    if not path.exists():
        return False
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def running_local_server(home: Path) -> str | None:
    """The API URL of a local server a running ``newsmon serve`` owns in ``home``, if it answers."""
    state = home / STATE_FILE
    if not state.is_file() or not _lock_held_elsewhere(home):
        return None
    try:
        url = str(json.loads(state.read_text(encoding="utf-8"))["api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if healthy(url) else None


def server_env(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a local Prefect server: its home, quiet logs, no telemetry, no UI."""
    env = dict(os.environ if base is None else base)
    for key in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_API_DATABASE_CONNECTION_URL",
                "PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        env.pop(key, None)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_LOGGING_LEVEL=env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
    )
    return env


class LocalPrefectServer:
    """``with LocalPrefectServer(home) as api_url:`` runs ``prefect server start`` for the block.

    The server runs in its own session (a Ctrl-C in the terminal reaches newsmon, which stops the
    server itself after the running cycle is done). Its output goes to ``home/server.log``.
    """

    def __init__(self, home: Path, *, startup_timeout: float = 180.0) -> None:
        self.home = home
        self.startup_timeout = startup_timeout
        self.api_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        self._lock = (self.home / LOCK_FILE).open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise LocalServerError(
                f"another `newsmon serve` is running with its Prefect server in {self.home}; stop it first, "
                "or point both at one server with PREFECT_API_URL") from None
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.api_url

    def _start(self) -> None:
        port = _free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        self._log = (self.home / LOG_FILE).open("ab")
        cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
        self._proc = subprocess.Popen(
            cmd, env=server_env(self.home), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not healthy(self.api_url):
            if self._proc.poll() is not None:
                raise LocalServerError(
                    f"the local Prefect server exited with code {self._proc.returncode} while starting; "
                    f"see {self.home / LOG_FILE}")
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"the local Prefect server did not answer within {self.startup_timeout:.0f} s; "
                    f"see {self.home / LOG_FILE}")
            time.sleep(0.25)
        (self.home / STATE_FILE).write_text(
            json.dumps({"api_url": self.api_url, "pid": self._proc.pid}), encoding="utf-8")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server (SIGTERM to its session, SIGKILL after ``timeout``) and release the lock."""
        with contextlib.suppress(FileNotFoundError):
            (self.home / STATE_FILE).unlink()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_ephemeral_server() -> None:
    """Start Prefect's ephemeral server for this process now, one process at a time per Prefect home.

    Without a Prefect API, each process starts a temporary server on the SQLite database in its
    Prefect home, creating or migrating that database first; two processes doing so at once on a
    new home collide ("index ... already exists", a traceback on stderr). Holding a file lock in
    the home until this process's server has started makes the second one find the database ready.
    Prefect's client then reuses this server (it is a per-process singleton).
    """
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url or not settings.server.ephemeral.enabled:
        return
    # only now: importing Prefect's server costs seconds and ~50 MB, for nothing when a server runs
    from prefect.server.api.server import SubprocessASGIServer

    home = Path(settings.home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    with (home / "newsmon-ephemeral.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            SubprocessASGIServer().start()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
