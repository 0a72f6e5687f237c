"""The project's exceptions: one base, the branch a person caused, and a training that diverged.

Every package may import this one; it imports nothing of the project.
"""

__all__ = ["ConfigError", "DivergedError", "SearchError", "UserError"]


class SearchError(Exception):
    """Base of every error this project raises on purpose."""


class UserError(SearchError):
    """Bad input from a person: the CLI prints the message as one line and exits with code 2.

    The message names the bad input and what is allowed.
    """


class DivergedError(SearchError):
    """Training produced a NaN or infinite loss; the trial cannot go on."""


class ConfigError(UserError):
    """A training config that cannot train (out of range, or too large for the device).

    From `search train` it is bad input (exit 2); in a search it is the sampled trial's fault:
    that trial fails with the message as its reason and the search goes on.
    """
