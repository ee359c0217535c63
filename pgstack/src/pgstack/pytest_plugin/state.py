"""What the plugin keeps for one pytest process, in ``config.stash``: read by the hooks,
the report, the failure handling and the fixtures."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from pgstack.environment import Exports
from pgstack.launch import Launch
from pgstack.run import Run
from pgstack.run_plan import RunPlan
from pgstack.settings import Settings
from pgstack.worker import Worker


@dataclass
class PluginState:
    """What the fixtures need; lives in ``config.stash``."""

    enabled: bool
    reason: str = ""
    settings: Settings | None = None
    launch: Launch | None = None  # controller, between load_initial_conftests and configure
    run: Run | None = None  # only in the process that owns the servers
    worker: Worker | None = None  # in every process that runs tests
    plan: RunPlan | None = None
    exports: Exports = field(default_factory=Exports)  # this process's coordinates
    lost: str | None = None  # a server went away mid-run: why, and what to do
    django: bool = False  # pgstack sets pytest-django's databases up (migrator = "django")


STATE_KEY = pytest.StashKey[PluginState]()
FRESH_KEY = pytest.StashKey[object]()  # a test's fresh_database, kept if the test fails
