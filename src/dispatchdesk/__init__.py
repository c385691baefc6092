"""Dispatch Desk: the desktop client for police contact centres and its reference backend."""

__version__ = "0.1.0"
