"""The one exception that library code raises for problems a user can fix."""


class KbError(Exception):
    """A user-facing error; its message says what went wrong and what to do."""
