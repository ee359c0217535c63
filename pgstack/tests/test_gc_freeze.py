"""The plugin freezes what imports and collection made out of the garbage collector's scans
(``gc_freeze``; checked in an xdist worker), unless told not to."""

from __future__ import annotations

from conftest import Project, output

FROZEN_TEST = """
import gc
import os


def test_frozen():
    frozen = gc.get_freeze_count()
    expected = os.environ["EXPECT_FROZEN"] == "1"
    assert (frozen > 0) is expected, f"freeze count {frozen}"
"""


def test_imports_and_collection_are_frozen_in_an_xdist_worker(project: Project) -> None:
    project.write_test("test_frozen", FROZEN_TEST)
    result = project.run("-n", "2", env={"EXPECT_FROZEN": "1"})
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=1)


def test_gc_freeze_false_leaves_the_collector_alone(project: Project) -> None:
    project.write_test("test_frozen", FROZEN_TEST)
    result = project.run("-n", "0", env={"EXPECT_FROZEN": "0", "PGSTACK_GC_FREEZE": "false"})
    assert result.ret == 0, output(result)
    result.assert_outcomes(passed=1)
