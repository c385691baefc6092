"""Suite-wide settings: Qt offscreen and PySide6 for qasync, before anything imports Qt."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Sizes of the fault suites (tests/faults) and of the OpenAPI fuzzing
    (tests/server/test_schemathesis.py): CI-sized by default, larger for long runs."""
    group = parser.getgroup("faults", "fault suites (tests/faults)")
    group.addoption(
        "--fault-rounds",
        type=int,
        default=6,
        help="kill -9 rounds of the desk process (default 6)",
    )
    group.addoption(
        "--fault-commands",
        type=int,
        default=1000,
        help="commands sent through the fault-injecting proxy (default 1000)",
    )
    group.addoption(
        "--fault-examples",
        type=int,
        default=4,
        help="hypothesis examples of the several-desks state machine (default 4)",
    )
    parser.addoption(
        "--max-examples",
        type=int,
        default=25,
        help="examples per operation and generation mode in tests/server/test_schemathesis.py",
    )
