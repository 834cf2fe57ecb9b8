"""Run the command line as ``python -m draft_feedback``."""

from draft_feedback.cli import main

if __name__ == "__main__":
    main()
