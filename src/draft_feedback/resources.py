"""Where the built-in templates, catalog and tone rules live, installed or from a checkout."""

from pathlib import Path
from typing import Any


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


def load_yaml(path: Path) -> Any:
    """Parse one of the package's own YAML files with the safe loader, in C where PyYAML has it.

    The C loader builds the same plain data about ten times faster, which every `new` feels
    at start-up. Only for the files shipped with draft-feedback: the user's config keeps
    yaml.safe_load for its error marks.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)


def load_data(path: Path) -> Any:
    """Read one of the package's own YAML files through a JSON copy kept in the cache folder.

    The copy is named by a hash of the YAML's exact bytes, so an edited file is parsed afresh
    at once, whatever its modification time; JSON reads in a fraction of the time YAML takes.
    A copy is kept only when JSON gives back exactly what YAML read.
    """
    import json

    from draft_feedback import cache

    try:
        text = path.read_bytes()
    except OSError:
        return load_yaml(path)  # fails with the usual error
    name = f"{path.stem}-{cache.digest(b'yaml-as-json 1', text)}.json"
    kept = cache.read("data", name)
    if kept is not None:
        try:
            return json.loads(kept)
        except ValueError:
            pass  # a damaged copy: read the YAML
    data = load_yaml(path)
    try:
        encoded = json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        return data
    if json.loads(encoded) == data:
        cache.write("data", name, encoded)
    return data
