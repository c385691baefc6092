"""Suite-wide settings: Qt offscreen and PySide6 for qasync, before anything imports Qt."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


def pytest_addoption(parser: "pytest.Parser") -> None:
    parser.addoption(
        "--max-examples",
        type=int,
        default=25,
        help="examples per operation and generation mode in tests/server/test_schemathesis.py",
    )
