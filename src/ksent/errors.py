"""One exception type for every mistake a user can fix; the CLI prints it as one line."""


class KsentError(ValueError):
    """A problem with the user's input, files or settings. The message says where and how to fix it."""
