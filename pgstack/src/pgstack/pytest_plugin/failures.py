"""A failed test: stop the run if a server went away, hint at a full disk, and keep the
test's fresh database for inspection."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pgstack import disk_full, server_lost
from pgstack.pytest_plugin.state import FRESH_KEY, STATE_KEY


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Stop the run if a server went away; keep a failed test's fresh database."""
    report = yield
    if not report.failed:
        return report
    state = item.config.stash.get(STATE_KEY, None)
    if state is not None and state.plan is not None and disk_full.mentioned_in(report.longreprtext):
        report.sections.append(("pgstack: disk full", disk_full.hint(state.plan.tmp_dir)))
    lost = _lost_server(item.config, call)
    if lost is not None:
        report.sections.append(("pgstack: server lost", lost))
        item.session.shouldfail = lost  # xdist passes it on: the whole run stops
        return report
    fresh = item.stash.get(FRESH_KEY, None)
    if fresh is not None and report.when in {"call", "setup"}:
        note = fresh.keep()  # type: ignore[attr-defined]
        if note:
            report.sections.append(("pgstack: kept database", note))
    return report


def _lost_server(config: pytest.Config, call: pytest.CallInfo[None]) -> str | None:
    """Why the servers cannot serve this run any more, if a connection error says so."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.plan is None:
        return None
    if state.lost is not None:
        return state.lost
    if call.excinfo is None or not server_lost.is_connection_error(call.excinfo.value):
        return None
    plan = state.plan
    state.lost = server_lost.postgres_gone(
        plan.admin_url, plan.database_url_env, origin=plan.postgres_from
    )
    if state.lost is None and plan.redis_url is not None:
        state.lost = server_lost.redis_gone(
            plan.redis_url, plan.redis_url_env, origin=plan.redis_from
        )
    return state.lost
