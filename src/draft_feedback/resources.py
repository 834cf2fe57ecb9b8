"""Where the built-in templates, catalog and tone rules live, installed or from a checkout."""

from pathlib import Path


def builtin_dir() -> Path:
    """Return the folder of built-in templates: inside the wheel, else the checkout's templates/."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    if installed.is_dir():
        return installed
    # An editable install or a source checkout: src/draft_feedback -> repository root.
    return here.parent.parent / "templates"


def example_config() -> str:
    """Return the text of config.example.yaml, from the wheel or from the checkout."""
    folder = builtin_dir()
    for candidate in (folder / "config.example.yaml", folder.parent / "config.example.yaml"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError("config.example.yaml is missing; reinstall draft-feedback")
