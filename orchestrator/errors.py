"""Errors a user can hit, each with the CLI exit code it maps to (see BRIEF: CLI contract)."""

from __future__ import annotations


class SnapclipError(Exception):
    """An error with a one-line message for the user; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class InputError(SnapclipError):
    """Bad input or usage: missing or non-media file, no audio stream, too short, URL refused."""

    exit_code = 2


class ModelServerError(SnapclipError):
    """The model server is unavailable: not reachable, not ready, or a model is not loaded."""

    exit_code = 3
