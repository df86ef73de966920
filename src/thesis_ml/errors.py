"""Bad input: the one base class of every error a user can cause, and how a command ends on one.

Every ``python -m thesis_ml.*`` command runs through :func:`exit_status`, so bad input anywhere
(a config key, a facts file, a weights file) ends in one ``error:`` line (or block) naming the
culprit, exit status 2 and no traceback. Anything else is a bug and propagates. This module
imports nothing of the library: the pipeline's steps use it without depending on more code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C


class UserError(ValueError):
    """Input that cannot be used; the message names the key, file, line or column."""


def exit_status(action: Callable[[], object]) -> int:
    """Run ``action``: 0 when it returns, :data:`EXIT_BAD_INPUT` when it raises a UserError,
    :data:`EXIT_INTERRUPTED` with one line instead of a traceback on Ctrl-C (a killed run
    resumes from its checkpoint when it is started again)."""
    try:
        action()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


class CommandParser(argparse.ArgumentParser):
    """argparse, with bad arguments one ``error:`` line (and exit status 2) like every other bad
    input, instead of its usage block followed by the error."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


class UsageError(UserError):
    """Arguments a command does not take (raised by :class:`CommandParser` inside
    :func:`exit_status`)."""
