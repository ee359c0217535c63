"""pytest for the compose runner (.pgstack/entrypoint.sh): `pytest [args]`, ended at once.

Once the session is over and the atexit handlers have run, the process exits without the
interpreter's teardown (freeing every module and object of the app, pytest and its
plugins: ~0.3 s of CPU after a one-test run); the container, and all its memory, goes
right after. Output is flushed first; the exit code is pytest's.
"""

import atexit
import os
import sys

import pytest

if __name__ == "__main__":
    code = pytest.console_main()
    atexit._run_exitfuncs()  # what a normal exit runs, pgstack's last cleanup included
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
