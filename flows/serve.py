"""The cycle served as a Prefect deployment from this process (what ``newsmon serve`` runs).

``newsmon serve`` starts this module as a child process in its own session (``python -m
flows.serve SPEC``), so that a Ctrl-C typed in the terminal reaches only ``newsmon serve``, which
then asks this process to stop with SIGTERM:

- SIGTERM: stop taking new runs, let a running cycle finish, then exit 0 (no half-done cycle);
- SIGINT: stop now, cancelling a running cycle through Prefect (a second Ctrl-C does this).

One cycle at a time: the runner takes one run at a time, the deployment has a concurrency limit
of 1 that cancels a run which would start while another runs, and ticks that fell due while a
cycle was running (or while serve was stopped) are dropped instead of being run back to back.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import click
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy, StateType
from prefect.runner import Runner

from flows.cycle import run_cycle, thread_runner
from newsmon.summary import render_summary

__all__ = ["ServeSpec", "scheduled_cycle", "serve"]

# a tick that has not started this long after it fell due was missed (the runner polls every 10 s)
MISSED_AFTER = timedelta(seconds=45)


@dataclass(frozen=True, slots=True)
class ServeSpec:
    """What to serve: deployment name, schedule (interval seconds or cron) and the config file."""

    name: str
    interval: int | None
    cron: str | None
    config_path: str | None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSpec:
        d = json.loads(text)
        return cls(name=str(d["name"]), interval=d.get("interval"), cron=d.get("cron"),
                   config_path=d.get("config_path"))


@flow(name="newsmon-cycle", task_runner=thread_runner(4), log_prints=False)
def scheduled_cycle(config_path: str | None = None, extract_workers: int | None = None) -> dict[str, Any]:
    """The monitoring cycle of ``newsmon serve``: ``run_cycle``, then its summary on stdout."""
    result = run_cycle.fn(config_path=config_path, extract_workers=extract_workers)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    click.echo(f"newsmon: scheduled cycle done at {stamp}\n{render_summary(result)}", nl=True)
    sys.stdout.flush()
    return result


class _NewsmonRunner(Runner):
    """A Runner whose SIGTERM lets the running cycle finish (Prefect's own exits at once)."""

    stop_mode: str | None = None

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        self.stop_mode = self.stop_mode or "graceful"

    def handle_sigint(self, *args: Any) -> None:
        self.stop_mode = "now"

    def busy(self) -> bool:
        """True while a flow run of this runner is being submitted or runs."""
        poller = getattr(self, "_scheduled_run_poller", None)
        return bool(poller is not None and getattr(poller, "_submitting_flow_run_ids", None))

    def stop_polling(self) -> None:
        poller = getattr(self, "_scheduled_run_poller", None)
        if poller is not None:
            poller.stopping = True


async def _drop_missed_ticks(deployment_id: UUID, older_than: datetime) -> int:
    """Delete the deployment's runs still Scheduled that fell due before ``older_than``."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                expected_start_time=FlowRunFilterExpectedStartTime(before_=older_than),  # type: ignore[arg-type]
            ),
        )
        for run in runs:
            await client.delete_flow_run(run.id)
    return len(runs)


async def _watch(runner: _NewsmonRunner, deployment_id: UUID) -> None:
    """Drop missed ticks while serving; on a stop request, wind the runner down."""
    last_sweep = 0.0
    loop = asyncio.get_running_loop()
    while runner.stop_mode is None:
        if loop.time() - last_sweep >= 5:
            last_sweep = loop.time()
            now = datetime.now(UTC)
            # while a cycle runs every tick already due is one it would double; otherwise only stale ones
            await _drop_missed_ticks(deployment_id, now if runner.busy() else now - MISSED_AFTER)
        await asyncio.sleep(0.2)
    runner.stop_polling()
    while runner.stop_mode == "graceful" and runner.busy():
        await asyncio.sleep(0.2)
    while not runner.started:  # a signal during start-up: let start() get far enough to be stopped
        await asyncio.sleep(0.1)
    await runner.astop()


async def serve(spec: ServeSpec) -> None:
    """Register the deployment and run scheduled cycles until SIGTERM/SIGINT."""
    runner = _NewsmonRunner(name=f"newsmon-serve-{spec.name}", limit=1, pause_on_shutdown=False, query_seconds=5)
    signal.signal(signal.SIGINT, runner.handle_sigint)
    schedule: dict[str, Any] = {"cron": spec.cron} if spec.cron else {"interval": spec.interval or 900}
    deployment_id = await runner.aadd_flow(
        scheduled_cycle, name=spec.name, parameters={"config_path": spec.config_path},
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        description="newsmon monitoring cycle, served by `newsmon serve`", **schedule,
    )
    dropped = await _drop_missed_ticks(deployment_id, datetime.now(UTC) - MISSED_AFTER)
    if dropped:
        click.echo(f"newsmon: dropped {dropped} tick(s) missed while serve was stopped", err=True)
    await asyncio.gather(runner.start(), _watch(runner, deployment_id))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m flows.serve SPEC_JSON (started by `newsmon serve`)", file=sys.stderr)
        return 2
    asyncio.run(serve(ServeSpec.from_json(args[0])))
    return 0


if __name__ == "__main__":
    # import the module under its own name, so the served flow pickles by reference, not from __main__
    from flows import serve as _module

    sys.exit(_module.main())
