"""The sandboxed Jinja environment and render(request) -> Draft(subject, body)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from draft_feedback import wording
from draft_feedback.catalog import THANK_YOU_TEMPLATE, Catalog, Scenario, builtin_catalog_data
from draft_feedback.config import Config
from draft_feedback.deadline import deadline
from draft_feedback.errors import BadInput
from draft_feedback.patterns import compile_kept
from draft_feedback.resources import builtin_dir

if TYPE_CHECKING:
    from jinja2 import Environment

    from draft_feedback.addresses import Address

# A feedback request is a few hundred words; anything near these sizes is a runaway template.
MAX_OUTPUT_CHARS = 100_000
MAX_RENDER_SECONDS = 5.0
SIGNATURE_PLACEHOLDER = "[Your name]"
_COUNTS = {1: "A quick question", 2: "Two quick questions", 3: "Three quick questions"}


@dataclass(frozen=True)
class DraftInput:
    """Everything `new` gathered about the rejection and the user's choices."""

    scenario: str
    to: Address
    org: str = ""
    role: str = ""
    areas: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()
    highlight: str = ""
    future: bool = True
    tone: str = "warm"
    thank_you_only: bool = False
    subject: str | None = None
    context: str = ""  # mentor: a line on what happened or the feedback received so far


@dataclass(frozen=True)
class Draft:
    """A rendered request: the subject line, the plain-text body and the questions it asks."""

    subject: str
    body: str
    questions: tuple[str, ...]
    thank_you_only: bool


def choose_questions(inp: DraftInput, catalog: Catalog, max_questions: int) -> tuple[str, ...]:
    """Return the questions to ask: chosen areas then own questions, or the scenario's defaults."""
    scenario = catalog.scenario(inp.scenario)
    if inp.thank_you_only or scenario.thank_you_only:
        return ()
    areas = [catalog.area(a, scenario.id) for a in inp.areas]
    typed = [q for q in inp.questions if q.strip()]
    total = len(areas) + len(typed)
    if total > max_questions:
        raise BadInput(
            f"--ask/--question: {total} questions chosen, at most {max_questions} "
            "(defaults.max_questions); keep the one to three that matter most"
        )
    own = [_as_question(q) for q in typed]
    if total == 0:
        # A brief request asks one question unless the user chose more.
        limit = 1 if inp.tone == "brief" else max_questions
        areas = [catalog.area(a, scenario.id) for a in scenario.default_areas][:limit]
    seen: list[str] = []
    for q in [a.question for a in areas] + own:
        if q not in seen:
            seen.append(q)
    return tuple(seen)


def _as_question(text: str) -> str:
    try:
        return wording.as_question(text)
    except wording.NotAQuestion:
        raise BadInput(f"--question: {' '.join(text.split())!r} is not a question; write it as "
                       "one, such as 'What would make my portfolio stronger?'") from None


def first_name(name: str) -> str:
    """Guess the given name to greet someone by: 'Dr. Priya Shah' -> 'Priya', 'Shah, Priya'."""
    return wording.first_name(name)


def signature_for(config: Config) -> str:
    """Return the sign-off: the configured signature, else the sender's name, else a placeholder."""
    if config.sender is not None:
        if config.sender.signature.strip():
            return config.sender.signature.strip("\n")
        if config.sender.name:
            return config.sender.name
    return SIGNATURE_PLACEHOLDER


def sign(body: str, config: Config) -> str | None:
    """Put the sender's signature where a draft saved before there was one says [Your name].

    The sign-off above it is kept or dropped as the templates' closing macro decides, so the
    result reads as if the draft had been written with the sender configured. None when the
    body has no placeholder line or there is still no sender.
    """
    signature = signature_for(config)
    if signature == SIGNATURE_PLACEHOLDER:
        return None
    lines = body.split("\n")
    if SIGNATURE_PLACEHOLDER not in (line.strip() for line in lines):
        return None
    at = max(i for i, line in enumerate(lines) if line.strip() == SIGNATURE_PLACEHOLDER)
    signoff = lines[at - 1].strip() if at > 0 and lines[at - 1].rstrip().endswith(",") else ""
    closing = render_string(
        environment(config),
        '{% import "_macros.txt.j2" as m %}{{ m.closing(signoff, signature) }}',
        {"signoff": signoff or "", "signature": signature}, "_macros.txt.j2")
    start = at - 1 if signoff else at
    return "\n".join([*lines[:start], *closing.strip("\n").split("\n"), *lines[at + 1:]])


def context(inp: DraftInput, scenario: Scenario, questions: tuple[str, ...],
            config: Config) -> dict[str, Any]:
    """Return the variables every template receives (see templates/README in the docs)."""
    return {
        "scenario": scenario.id,
        "scenario_label": scenario.label,
        "tone": inp.tone,
        "thank_you_only": not questions,
        "future": inp.future,
        "recipient_name": inp.to.name,
        "recipient_first": first_name(inp.to.name),
        "org": inp.org.strip(),
        "role": inp.role.strip(),
        "questions": list(questions),
        "highlight": inp.highlight.strip().rstrip(" .!;,:"),
        "sender_name": config.sender.name if config.sender else "",
        "signature": signature_for(config),
        "context": " ".join(inp.context.split()),
        "subject_lead": (_COUNTS.get(len(questions), "A few quick questions") + " about"
                         if questions else "With thanks:"),
        "language": config.language,
    }


def render(inp: DraftInput, config: Config, catalog: Catalog) -> Draft:
    """Render the subject and body of a request in the sandbox."""
    from draft_feedback.addresses import cap_subject, check_header_value

    scenario = catalog.scenario(inp.scenario)
    questions = choose_questions(inp, catalog, config.defaults.max_questions)
    ctx = context(inp, scenario, questions, config)
    env = environment(config)
    name = THANK_YOU_TEMPLATE if not questions else scenario.template
    body = render_template(env, name, ctx)
    body = "\n".join(line.rstrip() for line in body.strip("\n").splitlines()) + "\n"
    if inp.subject is not None:
        subject = inp.subject
    else:
        own = any(o.id == scenario.id and o.subject for o in config.scenarios)
        subject = render_string(env, scenario.subject, ctx, f"scenarios.{scenario.id}.subject",
                                trusted=not own)
    subject = cap_subject(" ".join(subject.split()))
    check_header_value(subject, "subject")
    return Draft(subject=subject, body=body, questions=questions, thank_you_only=not questions)


def template_dirs(config: Config) -> list[Path]:
    """Return the folders searched for templates, the user's first."""
    dirs = []
    if config.templates_dir is not None:
        dirs.append(config.templates_dir)
    else:
        from draft_feedback.config import user_config_dir

        dirs.append(user_config_dir() / "templates")
    dirs.append(builtin_dir())
    return dirs


def environment(config: Config) -> Environment:
    """Return the sandboxed, strict, plain-text Jinja environment for the config's folders."""
    return _environment(tuple(str(d) for d in template_dirs(config)), config.language)


@functools.lru_cache(maxsize=8)
def _environment(folders: tuple[str, ...], language: str = "en-GB") -> Environment:
    # One environment per set of folders and language, so compiled templates are reused
    # across drafts (Jinja still reloads a template whose file changed).
    from jinja2 import StrictUndefined

    sandbox = _sandbox_class()
    env = sandbox(
        loader=_loader_class()(list(folders), language),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(FILTERS)
    data = builtin_catalog_data()
    teams = {sid: wording.respell(s.get("team", ""), language)
             for sid, s in data["scenarios"].items()}
    aliases = (data.get("aliases") or {}).get("scenarios") or {}
    teams.update({old: teams.get(new, "") for old, new in aliases.items()})
    env.globals.update(
        greet=wording.greeting,
        teams=teams,
        personal_scenarios=[sid for sid, s in data["scenarios"].items() if s.get("personal")],
        language=language,
    )
    return env


# The filters the templates use to make typed slots grammatical (see wording.py).
FILTERS: dict[str, Any] = {
    "the": wording.the,
    "work": wording.work,
    "inner": wording.inner,
    "owner": wording.owner,
    "promotion": wording.promotion,
    "highlight": wording.highlight_sentence,
    "sentence": wording.sentence,
}


@functools.lru_cache(maxsize=1)
def _loader_class() -> Any:
    """Build the loader that writes the built-in templates in the configured spelling."""
    from jinja2 import FileSystemLoader

    class Loader(FileSystemLoader):
        def __init__(self, searchpath: list[str], language: str) -> None:
            super().__init__(searchpath)
            self.language = language

        def get_source(self, environment: Any, template: str) -> Any:
            source, filename, uptodate = super().get_source(environment, template)
            if Path(filename).parent == builtin_dir():
                # Built-in text only: a user's own templates keep their own spelling.
                source = wording.respell(source, self.language)
            return source, filename, uptodate

    return Loader


def _bytecode_cache() -> Any:
    """Keep compiled templates in the cache folder, for this Jinja and this sandbox only.

    Jinja checks each entry against the template's source, so an edited template is compiled
    again; the folder's name covers what the source does not: Jinja's version and the code
    that defines the sandbox (this module), which decides what the compiled code calls.
    """
    import jinja2
    from jinja2 import FileSystemBytecodeCache

    from draft_feedback.cache import cache_dir, digest

    class Cache(FileSystemBytecodeCache):
        """A bytecode cache whose folder may be unwritable or vanish: a miss, never an error."""

        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # noqa: BLE001 - a damaged entry is compiled afresh
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        with open(__file__, "rb") as handle:
            key = digest(jinja2.__version__.encode(), handle.read())
        folder = os.path.join(cache_dir(), "jinja", key)
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return Cache(folder)


def render_template(env: Environment, name: str, ctx: dict[str, Any]) -> str:
    """Render a template file by name, turning every failure into a BadInput naming it."""
    from jinja2 import TemplateNotFound

    try:
        template = env.get_template(name)
    except TemplateNotFound as exc:
        raise BadInput(f"{name}: template not found in " + ", ".join(
            str(d) for d in getattr(env.loader, "searchpath", [])) + f" ({exc.message})") from None
    except Exception as exc:  # noqa: BLE001 - a template is user code; report, never crash
        raise _template_error(exc, name) from None
    filename = template.filename or name
    if Path(filename).parent == builtin_dir():
        return _run(template, ctx, filename)
    return contained(lambda: _run(template, ctx, filename), filename)


def render_string(env: Environment, source: str, ctx: dict[str, Any], label: str,
                  trusted: bool = False) -> str:
    """Render a template given as text (a subject line), naming `label` in errors."""
    try:
        template = _compiled_string(env, source)
    except Exception as exc:  # noqa: BLE001
        raise _template_error(exc, label) from None
    if trusted:
        return _run(template, ctx, label)
    return contained(lambda: _run(template, ctx, label), label)


MAX_RENDER_MEMORY = 256 * 1024 * 1024  # bytes a user template may add to the process


def contained(work: Callable[[], str], label: str) -> str:
    """Run a user template's render in a child process bounded in memory and time.

    The sandbox caps what `*`, `+` and the widening filters produce, but a template is a
    program: sum, tojson, join, `~` and nested loops build values no list of checks can
    foresee. The child gets an address-space limit and is killed at the time limit, so no
    template can take the machine's memory or hold the command. Where there is no fork
    (Windows) the sandbox and the render deadline are the bound.
    """
    import os

    if not hasattr(os, "fork"):
        return work()
    import json
    import select
    import signal
    import time
    import warnings

    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with helper threads alive
        pid = os.fork()
    if pid == 0:  # the child: render, report, and leave without running any cleanup
        try:
            import gc

            gc.disable()  # a collection would touch, and so copy, every page of the parent
            os.close(read_end)
            _limit_memory()
            try:
                outcome = ["ok", work()]
            except BadInput as exc:
                outcome = ["bad", str(exc)]
            except MemoryError:
                outcome = ["bad", f"{label}: the template needs too much memory (more than "
                                  f"{MAX_RENDER_MEMORY // 2**20} MiB)"]
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, never raised
                outcome = ["bad", f"{label}: the template failed: {type(exc).__name__}"]
            data = json.dumps(outcome).encode("utf-8")
            while data:
                data = data[os.write(write_end, data):]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks: list[bytes] = []
    ends = time.monotonic() + MAX_RENDER_SECONDS + 2
    try:
        while True:
            left = ends - time.monotonic()
            ready = select.select([read_end], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                os.kill(pid, signal.SIGKILL)
                raise BadInput(f"{label}: the template ran for more than "
                               f"{MAX_RENDER_SECONDS:g} seconds; look for a loop that never ends")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    if not chunks:
        raise BadInput(f"{label}: the template needs too much memory (more than "
                       f"{MAX_RENDER_MEMORY // 2**20} MiB)")
    kind, text = json.loads(b"".join(chunks))
    if kind != "ok":
        raise BadInput(text)
    return str(text)


def _limit_memory() -> None:
    """Cap the child's address space at what it uses now plus MAX_RENDER_MEMORY (Linux)."""
    import os
    import resource

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = in_use + MAX_RENDER_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass  # no /proc (macOS): the time limit alone bounds it there


@functools.lru_cache(maxsize=64)
def _compiled_string(env: Environment, source: str) -> Any:
    # A scenario's subject line is compiled once per process, and its compiled code is kept in
    # the bytecode cache like a template file's, named by its text (Jinja checks the source).
    cache = env.bytecode_cache
    if cache is None:
        return env.from_string(source)
    try:
        bucket = cache.get_bucket(env, "subject line: " + source, None, source)
    except Exception:  # noqa: BLE001 - a text the cache cannot name is compiled as before
        return env.from_string(source)
    code = bucket.code
    if code is None:
        code = env.compile(source)
        bucket.code = code
        cache.set_bucket(bucket)
    return env.template_class.from_code(env, code, env.make_globals(None))


def _run(template: Any, ctx: dict[str, Any], label: str) -> str:
    parts: list[str] = []
    size = 0
    try:
        with deadline(MAX_RENDER_SECONDS, _Timeout):
            for chunk in template.generate(**ctx):
                size += len(chunk)
                if size > MAX_OUTPUT_CHARS:
                    raise BadInput(f"{label}: the template renders more than "
                                   f"{MAX_OUTPUT_CHARS:,} characters; a request is a short email")
                parts.append(chunk)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _template_error(exc, label) from None
    return "".join(parts)


class _Timeout(Exception):
    pass


def _template_error(exc: BaseException, label: str) -> BadInput:
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    if isinstance(exc, TemplateSyntaxError):
        where = f"{exc.filename or label}:{exc.lineno}"
        return BadInput(f"{where}: template syntax error: {exc.message}")
    where = _template_line(exc, label)
    if isinstance(exc, UndefinedError):
        return BadInput(f"{where}: {exc.message}; the variables a template may use are listed "
                        "by `draft-feedback templates show NAME`")
    if isinstance(exc, SecurityError):
        return BadInput(f"{where}: not allowed in a template: {exc}")
    if isinstance(exc, _Timeout):
        return BadInput(f"{where}: the template ran for more than {MAX_RENDER_SECONDS:g} "
                        "seconds; look for a loop that never ends")
    if isinstance(exc, RecursionError):
        return BadInput(f"{where}: the template recurses too deeply (a macro calling itself?)")
    if isinstance(exc, MemoryError):
        return BadInput(f"{where}: the template needs too much memory")
    return BadInput(f"{where}: the template failed: {type(exc).__name__}: {exc}")


def _template_line(exc: BaseException, label: str) -> str:
    """Find the template file and line in a Jinja-rewritten traceback."""
    import traceback  # only when a template failed: a draft that renders never needs it

    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if frame.filename.endswith(".j2") or frame.filename == "<template>":
            name = label if frame.filename == "<template>" else frame.filename
            return f"{name}:{frame.lineno}"
    return label


# A format width of six digits or more ("{:>999999}", "%999999s") builds a huge string at once;
# so does one taken from the arguments ("{:>{w}}", "%*s"), which the text alone cannot bound.
_FORMAT_WIDTH = compile_kept(r"\{[^{}]*:[^{}]*(\d{6,}|\{)")
_PERCENT_WIDTH = compile_kept(r"%(\([^)]*\))?[-#0 +]*(\d{6,}|\*|\d*\.(\d{6,}|\*))")


def _result_bound(name: str, text: str, args: tuple[Any, ...]) -> int:
    """Bound the length a string method can return, for the methods that multiply their input."""
    def size(value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, (list, tuple)):
            return sum(len(v) if isinstance(v, str) else 1 for v in value)
        return 0

    if name == "replace" and len(args) >= 2:
        occurrences = len(text) // max(size(args[0]), 1) + 1
        return len(text) + occurrences * size(args[1])
    if name == "join" and args:
        parts = len(args[0]) if isinstance(args[0], (str, list, tuple)) else 0
        return size(args[0]) + len(text) * max(parts - 1, 0)
    if name == "expandtabs":
        width = args[0] if args and isinstance(args[0], int) else 8
        return len(text) * max(width, 1)
    return len(text)


@functools.lru_cache(maxsize=1)
def _sandbox_class() -> type[Environment]:
    """Build the sandbox that also refuses output-size bombs ('x' * 10**9, ljust(10**9))."""
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    def too_big(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and (
            abs(value) > MAX_OUTPUT_CHARS)

    def sized(value: Any) -> int:
        return len(value) if isinstance(value, (str, list, tuple, bytes)) else 0

    guarded = _guarded_filters(too_big)

    class Sandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.filters.update(guarded)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*" and (sized(left) * (right if isinstance(right, int) else 0) >
                                    MAX_OUTPUT_CHARS or sized(right) * (
                                        left if isinstance(left, int) else 0) > MAX_OUTPUT_CHARS):
                raise SecurityError("the result of * would be too large")
            if operator == "**" and isinstance(right, int) and abs(right) > 100:
                raise SecurityError("the exponent is too large")
            if operator == "+" and sized(left) + sized(right) > MAX_OUTPUT_CHARS:
                raise SecurityError("the result of + would be too large")
            if operator == "%" and isinstance(left, str) and _PERCENT_WIDTH.search(left):
                raise SecurityError("the format width is too large")
            return super().call_binop(context, operator, left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            values = list(args) + list(kwargs.values())
            if any(too_big(v) for v in values):
                raise SecurityError("an argument is too large for a short email")
            # Jinja >= 3.1.5 hands templates a wrapper of str.format; the str is on __wrapped__.
            owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
            if (isinstance(owner, str) and getattr(__obj, "__name__", "") in (
                    "format", "format_map") and _FORMAT_WIDTH.search(owner)):
                raise SecurityError("the format width is too large")
            if isinstance(owner, str) and _result_bound(
                    getattr(__obj, "__name__", ""), owner, args) > MAX_OUTPUT_CHARS:
                raise SecurityError(f"the result of .{__obj.__name__}() would be too large")
            return super().call(__context, __obj, *args, **kwargs)

    return Sandbox


def _guarded_filters(too_big: Any) -> dict[str, Any]:
    """Wrap the built-in filters that take a width, so `|center(10**9)` is refused too."""
    from jinja2.exceptions import SecurityError
    from jinja2.filters import FILTERS

    def guarded(name: str) -> Any:
        original = FILTERS[name]

        def check(*args: Any, **kwargs: Any) -> Any:
            values = list(args) + list(kwargs.values())
            wide = name == "format" and bool(args) and isinstance(args[0], str) and bool(
                _PERCENT_WIDTH.search(args[0]) or _FORMAT_WIDTH.search(args[0]))
            if wide or any(too_big(v) for v in values):
                raise SecurityError(f"the argument of |{name} is too large")
            return original(*args, **kwargs)

        if hasattr(original, "jinja_pass_arg"):
            check.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
        return check

    return {name: guarded(name) for name in
            ("center", "indent", "wordwrap", "truncate", "format", "batch", "slice")}


_TEMPLATE_NAME = compile_kept(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.j2")


def template_names(config: Config) -> list[tuple[str, str]]:
    """Return (name, where) for every template: yours first, then the built-ins not overridden."""
    seen: dict[str, str] = {}
    dirs = template_dirs(config)
    for folder in dirs:
        if not folder.is_dir():
            continue
        where = "built-in" if folder == builtin_dir() else f"yours, {folder}"
        for path in sorted(folder.glob("*.j2")):
            seen.setdefault(path.name, where)
    return sorted(seen.items())


def template_path(config: Config, name: str) -> Path:
    """Return the file a template name resolves to (yours if present), or a BadInput."""
    if not _TEMPLATE_NAME.fullmatch(name):
        raise BadInput(f"{name!r} is not a template name; `draft-feedback templates list` "
                       "shows them")
    for folder in template_dirs(config):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    names = ", ".join(n for n, _ in template_names(config))
    raise BadInput(f"no template named {name!r}; choose one of: {names}")


def copy_template(config: Config, name: str, force: bool) -> Path:
    """Copy a built-in template into the user's templates folder, never over a copy unasked."""
    source = builtin_dir() / name
    if not _TEMPLATE_NAME.fullmatch(name) or not source.is_file():
        names = ", ".join(p.name for p in sorted(builtin_dir().glob("*.j2")))
        raise BadInput(f"no built-in template named {name!r}; choose one of: {names}")
    target_dir = template_dirs(config)[0]
    target = target_dir / name
    if target.exists() and not force:
        raise BadInput(f"{target} already exists; edit it, or add --force to replace it with "
                       "the built-in")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{target}: cannot write: {exc.strerror}") from None
    return target
