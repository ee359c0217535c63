"""The 200 small tests of test_small.py as async tests: insert one row, read it back."""

import pytest
from conftest import insert_and_query


@pytest.mark.parametrize("i", range(200))
async def test_insert_and_query(adb, i):
    assert await insert_and_query(adb, f"item-{i}", i) == i
