"""Run the command line as ``python -m draft_feedback``."""

from draft_feedback.launch import main

if __name__ == "__main__":
    main()
