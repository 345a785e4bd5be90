"""The one path for errors a user can cause.

Every error whose cause a user can fix — a bad configuration key, a malformed Excel file or row, an
unreachable server or database, a period that cannot be read — subclasses `UserError`. Its message is
one line, Vietnamese first (then English), naming the file, key, row or URL. The command line prints
it as `Lỗi / error: <message>` (secrets masked) and exits 1, with no traceback; the console hides
Prefect's ERROR lines about it (they still reach the Prefect UI).

This module imports nothing of ours: every layer may raise these.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; `str(e)` is the one line shown."""


class UsageError(UserError, ValueError):
    """A value given on the command line (an option, a port, a file) that cannot be used."""


class FileMissing(UserError, FileNotFoundError):
    """A file named by the user does not exist."""


def user_error_names() -> set[str]:
    """The class names of every `UserError` defined so far (the console filter matches them in
    Prefect's "Finished in state Failed(...X: ...)" lines). Read when needed, so that a class
    defined in a module imported later is known too."""
    seen: set[type] = {UserError}
    todo = [UserError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return {cls.__name__ for cls in seen}
