"""Errors that reach the user as one sentence (CLI exit code 2, HTTP 4xx) instead of a traceback."""


class UserError(Exception):
    """Bad input or a state the user can fix; the message is shown as-is, without a traceback."""


class BusyError(UserError):
    """Another process holds the lock for this write (an indexer or a training run)."""


class NotFoundError(UserError):
    """What the request names does not exist (HTTP 404)."""
