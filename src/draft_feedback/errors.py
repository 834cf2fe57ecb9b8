"""The one exception family of draft-feedback; cli.py turns it into exit codes."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class DraftFeedbackError(Exception):
    """Base of every error the library raises on purpose; the message is shown as is."""

    exit_code = EXIT_FAILURE


class BadInput(DraftFeedbackError):
    """The user gave something we cannot use; nothing was stored (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class Failure(DraftFeedbackError):
    """The input was fine but the work could not be done (exit 1)."""

    exit_code = EXIT_FAILURE
