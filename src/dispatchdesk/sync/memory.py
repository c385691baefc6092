"""Giving memory the desk has freed back to the system.

Reading 200,000 cached schemes and orders and filing them passes through far more memory than
the index then holds (rows, JSON, models before they are packed). CPython frees it, but the C
allocator keeps the freed pages of its heaps for later, so the desk would carry them for the
whole shift (some 10 MB at 100,000 schemes and 100,000 orders).
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)


def release_freed_memory() -> bool:
    """Hand the C allocator's free pages back to the system (glibc's ``malloc_trim``); no
    data is touched. Whether it could: False where there is no such call (not Linux, or
    another C library), which changes nothing but the process's size."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
