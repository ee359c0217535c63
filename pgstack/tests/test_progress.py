"""A long template build shows a live line: how long it has run and the migrator's latest
output, then how long it took. Quick builds print nothing extra."""

from __future__ import annotations

import re
import uuid

from conftest import Project, cli
from test_migrators import output, pyproject, write

BUILDING = r"pgstack: building template pgstack_tpl_\w+ \(command\)"
# Five steps, 0.8 s apart: the build runs ~4 s, past the quiet first 2 s.
SLOW_MIGRATE = """\
import time
for step in range(1, 6):
    print(f"Applying step_{step}... OK", flush=True)
    time.sleep(0.8)
"""


def slow_project(project: Project) -> None:
    pyproject(
        project,
        'migrator = "command"\ncommand = "python migrate.py"\nschema_inputs = ["migrate.py"]\n',
    )
    write(project, "migrate.py", f"# {uuid.uuid4().hex}\n" + SLOW_MIGRATE)
    project.write_test("test_x", "def test_x(db_connection):\n    pass\n")


def test_a_long_build_reports_its_progress_during_a_run(bare):
    slow_project(bare)
    result = bare.run()
    result.assert_outcomes(passed=1)
    text = output(result)
    live = re.search(BUILDING + r": \d+ s, last: (.*)", text)
    assert live, text
    assert re.fullmatch(r"Applying step_\d\.\.\. OK", live.group(1)), live.group(1)
    assert re.search(BUILDING + r": done in [\d.]+ s", text), text


def test_a_quick_build_prints_no_progress(bare):
    pyproject(bare, 'migrator = "command"\ncommand = "echo quick"\nschema_inputs = ["m.txt"]\n')
    write(bare, "m.txt", uuid.uuid4().hex)
    bare.write_test("test_x", "def test_x(db_connection):\n    pass\n")
    result = bare.run()
    result.assert_outcomes(passed=1)
    assert "pgstack: building template" not in output(result), output(result)


def test_prepare_reports_a_long_build_on_stderr(bare):
    slow_project(bare)
    result = cli(bare, "prepare", env={"DATABASE_URL": bare.server_url})
    assert result.returncode == 0, result.stderr
    assert re.search(BUILDING + r": \d+ s, last: Applying step_", result.stderr), result.stderr
    assert re.search(BUILDING + r": done in [\d.]+ s", result.stderr), result.stderr
    assert "building template" not in result.stdout, result.stdout
