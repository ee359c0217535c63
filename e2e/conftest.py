"""The compose end-to-end tests run from the repository root with the project's .venv."""
