"""draft-feedback: kind, specific feedback requests after a rejection, sent after a cooling-off."""

__version__ = "0.1.0"
