"""Paths, YAML loading and validation of the config file into frozen dataclasses."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from draft_feedback.errors import BadInput
from draft_feedback.patterns import compile_kept

# typing costs a cron tick more than this module's own code (tick.py): read by checkers only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from draft_feedback.addresses import Address
    from draft_feedback.timing import SendWindow

APP_NAME = "draft-feedback"
LANGUAGES = ("en-GB", "en-US")  # the spelling of the built-in text (wording.py)
CONFIG_ENV = "DRAFT_FEEDBACK_CONFIG"
HOME_ENV = "DRAFT_FEEDBACK_HOME"
PASSWORD_ENV = "DRAFT_FEEDBACK_SMTP_PASSWORD"
IMAP_PASSWORD_ENV = "DRAFT_FEEDBACK_IMAP_PASSWORD"
OUTBOX_NAME = "outbox.sqlite3"
TONES = ("warm", "formal", "brief")
SECURITIES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
# A YAML alias can make a few lines expand into millions of nodes; a real config has a few hundred.
MAX_NODES = 20_000
MAX_CONFIG_BYTES = 1024 * 1024
MAX_TEXT_CHARS = 500  # one line of catalog text; a signature may be four times that


def language_from_locale(environ: Mapping[str, str]) -> str:
    """Return en-US when the locale says so (LC_ALL, LC_MESSAGES, LANG), else en-GB."""
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(key, "")
        if value:
            return "en-US" if value.replace("-", "_").startswith("en_US") else "en-GB"
    return "en-GB"


def user_config_dir() -> Path:
    """Return the per-user config folder (platformdirs)."""
    plain = _plain_xdg_folder("XDG_CONFIG_HOME", "~/.config")
    if plain is not None:
        return Path(plain)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _plain_xdg_folder(variable: str, default: str) -> str | None:
    """Return the folder platformdirs gives on Linux when that is plain to tell, else None.

    Importing platformdirs costs a new draft more than all of this file (it loads tempfile,
    shutil and the compression modules). On Linux, with the XDG variable an absolute path, or
    unset and HOME an absolute path, its answer is that path joined with our name; every other
    case is left to platformdirs itself. tests/test_config.py holds the two to the same answer.
    """
    if not sys.platform.startswith("linux"):
        return None
    chosen = os.environ.get(variable, "")
    if chosen.startswith("/"):
        return os.path.join(chosen, APP_NAME)
    if os.environ.get("HOME", "").startswith("/"):
        return os.path.join(os.path.expanduser(default), APP_NAME)
    return None


def config_path(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the config file: --config, then $DRAFT_FEEDBACK_CONFIG, then the user config dir."""
    chosen = override or os.environ.get(CONFIG_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return user_config_dir() / "config.yaml"


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the data folder: --home, then $DRAFT_FEEDBACK_HOME, then the user data dir."""
    chosen = override or os.environ.get(HOME_ENV)
    if chosen:
        return Path(chosen).expanduser()
    plain = _plain_xdg_folder("XDG_DATA_HOME", "~/.local/share")
    if plain is not None:
        return Path(plain)
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class Sender:
    """Who the requests come from."""

    name: str
    email: str
    signature: str = ""

    @property
    def address(self) -> Address:
        """Return the sender as a message Address."""
        from draft_feedback.addresses import Address

        return Address(self.name, self.email)


@dataclass(frozen=True)
class Smtp:
    """How to reach the user's mail server."""

    host: str = "smtp.gmail.com"
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    login: bool = True
    timeout: float = 60.0
    oauth2_file: str | None = None


@dataclass(frozen=True)
class Imap:
    """How to read the user's mailbox (read-only) for replies."""

    host: str
    port: int = 993
    security: str = "ssl"
    user: str | None = None
    mailbox: str = "INBOX"
    timeout: float = 60.0
    oauth2_file: str | None = None


# Where a provider's IMAP server is, from its SMTP host; anything else must name imap.host.
IMAP_HOSTS = {
    "smtp.gmail.com": "imap.gmail.com",
    "smtp.googlemail.com": "imap.gmail.com",
    "smtp.office365.com": "outlook.office365.com",
    "smtp-mail.outlook.com": "outlook.office365.com",
    "smtp.fastmail.com": "imap.fastmail.com",
    "smtp.mail.me.com": "imap.mail.me.com",
    "smtp.mail.yahoo.com": "imap.mail.yahoo.com",
}
IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


def is_loopback(host: str) -> bool:
    """True for a host that names this machine: localhost, 127.0.0.0/8 or ::1."""
    import ipaddress

    name = host.strip().strip("[]").lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Defaults:
    """Defaults for `new`."""

    scenario: str = "interview"
    tone: str = "warm"
    max_questions: int = 3


@dataclass(frozen=True)
class FocusAreaOverride:
    """A focus area added or reworded in the config; None keeps the built-in value."""

    id: str
    label: str | None = None
    question: str | None = None
    scenarios: tuple[str, ...] | None = None
    keywords: tuple[str, ...] | None = None
    where: str = ""


@dataclass(frozen=True)
class ScenarioOverride:
    """A scenario added or changed in the config; None keeps the built-in value."""

    id: str
    label: str | None = None
    description: str | None = None
    template: str | None = None
    subject: str | None = None
    default_areas: tuple[str, ...] | None = None
    cooling_off_hours: int | None = None
    thank_you_only: bool | None = None
    where: str = ""


@dataclass(frozen=True)
class Tone:
    """Tone-check settings: built-in rules to switch off and extra rules."""

    disable: tuple[str, ...] = ()
    rules: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path
    exists: bool
    timezone: ZoneInfo
    sender: Sender | None = None
    cooling_off_hours: int = 48
    send_window: SendWindow | None = None
    smtp: Smtp = field(default_factory=Smtp)
    defaults: Defaults = field(default_factory=Defaults)
    templates_dir: Path | None = None
    focus_areas: tuple[FocusAreaOverride, ...] = ()
    scenarios: tuple[ScenarioOverride, ...] = ()
    tone: Tone = field(default_factory=Tone)
    imap: Imap | None = None
    follow_up_days: int | None = None

    @property
    def imap_user(self) -> str | None:
        """Return the IMAP login name: imap.user, else the SMTP login name."""
        if self.imap is not None and self.imap.user:
            return self.imap.user
        return self.smtp_user
    # en-GB or en-US: the spelling of the built-in templates and catalog.
    language: str = field(default_factory=lambda: language_from_locale(os.environ))

    @property
    def source(self) -> str:
        """Return the name used in error messages about this config."""
        return str(self.path)

    @property
    def smtp_user(self) -> str | None:
        """Return the SMTP login name: smtp.user, else the sender's address."""
        if self.smtp.user:
            return self.smtp.user
        return self.sender.email if self.sender else None


def local_timezone_name() -> str:
    """Guess the machine's IANA timezone name: $TZ, /etc/localtime, /etc/timezone, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except OSError:
        pass
    for name in candidates:
        if name and _zone(name) is not None:
            return name
    return "UTC"


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


# --- YAML to located Python values ------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A YAML value with the line it came from and, for scalars, the text as written."""

    value: Any
    line: int
    raw: str | None = None
    plain: bool = False


def parse_yaml(text: str, source: str) -> Node:
    """Parse YAML safely into Nodes, refusing duplicate keys, tags and alias bombs."""
    kept = _kept_nodes(text, source)
    if kept is not None:
        return kept
    node = _parse_yaml(text, source)
    _keep_nodes(text, source, node)
    return node


def _parse_yaml(text: str, source: str) -> Node:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInput(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise BadInput(f"{source}: not valid YAML for a config: it nests lists or mappings "
                       "too deeply") from None
    if root is None:
        return Node({}, 1)
    budget = _Budget()
    try:
        return _convert(root, source, budget)
    except RecursionError:
        raise BadInput(f"{source}: not valid YAML for a config: it nests lists or mappings "
                       "too deeply") from None


# The parsed Nodes of a config are kept in the cache folder as JSON, so a command that reads an
# unchanged config needs no YAML parser (importing PyYAML alone costs a few per cent of `new`).
# The entry is used only for the exact same text, parsed by the same PyYAML; validation, which
# reads the environment, the clock and the locale, runs on every load as before.
_NODES_FORMAT = b"config nodes 1"


def _nodes_key(text: str) -> str | None:
    """Name the parse of this exact text by this PyYAML, without importing it; None if unknown."""
    from importlib.machinery import PathFinder

    from draft_feedback.cache import digest

    try:
        spec = PathFinder.find_spec("yaml")
        if spec is None or spec.origin is None:
            return None
        with open(spec.origin, "rb") as handle:  # yaml/__init__.py, which carries its version
            parser = handle.read()
    except (OSError, ImportError, ValueError):
        return None
    return digest(_NODES_FORMAT, parser, text.encode("utf-8", "surrogatepass"))


def _kept_nodes(text: str, source: str) -> Node | None:
    import json

    from draft_feedback import cache

    key = _nodes_key(text)
    if key is None:
        return None
    data = cache.read("config", _nodes_entry(source))
    if data is None:
        return None
    try:
        kept = json.loads(data)
        if kept.get("key") != key:
            return None  # an edited file, or another PyYAML
        return _nodes_from_json(kept["nodes"])
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None  # a damaged entry: parse the YAML


def _keep_nodes(text: str, source: str, node: Node) -> None:
    import json

    from draft_feedback import cache

    key = _nodes_key(text)
    if key is None:
        return
    try:
        encoded = json.dumps({"key": key, "nodes": _nodes_to_json(node)}, ensure_ascii=False)
        if _nodes_from_json(json.loads(encoded)["nodes"]) != node:
            return  # a value JSON cannot give back exactly (a date, NaN): not kept
    except (ValueError, TypeError, RecursionError):
        return
    cache.write("config", _nodes_entry(source), encoded.encode("utf-8"))


def _nodes_entry(source: str) -> str:
    from draft_feedback.cache import digest

    # One entry per config file: an edit replaces it rather than adding another.
    return f"nodes-{digest(source.encode('utf-8', 'surrogatepass'))}.json"


def _nodes_to_json(node: Node) -> list[Any]:
    value = node.value
    if isinstance(value, dict):
        encoded: Any = {"map": {k: _nodes_to_json(v) for k, v in value.items()}}
    elif isinstance(value, list):
        encoded = {"seq": [_nodes_to_json(v) for v in value]}
    elif value is None or isinstance(value, (str, int, float, bool)):
        encoded = {"val": value}
    else:
        raise TypeError(f"not kept as JSON: {type(value).__name__}")
    return [encoded, node.line, node.raw, node.plain]


def _nodes_from_json(data: Any) -> Node:
    encoded, line, raw, plain = data
    if not isinstance(line, int) or not isinstance(plain, bool) or not (
            raw is None or isinstance(raw, str)):
        raise TypeError("not a kept node")
    if "map" in encoded:
        value: Any = {str(k): _nodes_from_json(v) for k, v in encoded["map"].items()}
    elif "seq" in encoded:
        value = [_nodes_from_json(v) for v in encoded["seq"]]
    else:
        value = encoded["val"]
    return Node(value, line, raw, plain)


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in (
    "map", "seq", "str", "int", "float", "bool", "null", "timestamp")}


class _Budget:
    """How many values are left to read, and what to blame when none are."""

    def __init__(self) -> None:
        self.left = MAX_NODES
        self.seen: set[int] = set()
        self.aliased = False  # a node reached twice: an alias (*name) repeats an anchor (&name)
        self.top: tuple[str, int] | None = None  # the top-level key being read, and its line

    def spend(self, node: Any, source: str, line: int) -> None:
        self.aliased = self.aliased or id(node) in self.seen
        self.seen.add(id(node))
        self.left -= 1
        if self.left >= 0:
            return
        where = f" (line {self.top[1]}: {self.top[0]})" if self.top else ""
        if self.aliased:
            raise BadInput(f"{source}:{line}: the file expands to more than {MAX_NODES:,} values "
                           f"through aliases (*name repeating an &name){where}; write the "
                           "values out")
        raise BadInput(f"{source}:{line}: the file holds more than {MAX_NODES:,} values{where}; "
                       "a config needs a few hundred: keep only the entries you use")


def _convert(node: Any, source: str, budget: _Budget, depth: int = 0) -> Node:
    import yaml

    line = node.start_mark.line + 1
    budget.spend(node, source, line)
    if node.tag not in _PLAIN_TAGS:
        raise BadInput(f"{source}:{line}: not valid YAML for a config: the tag {node.tag} is not "
                       "allowed; write plain values")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise BadInput(f"{source}:{line}: keys must be plain words")
            key = key_node.value
            if key == "<<":
                raise BadInput(f"{source}:{key_node.start_mark.line + 1}: merge keys (<<) "
                               "are not supported; write the keys out")
            if key in out:
                raise BadInput(
                    f"{source}:{key_node.start_mark.line + 1}: {key}: duplicate key "
                    f"(first given on line {out[key].line}); keep one"
                )
            if depth == 0:
                budget.top = (str(key), key_node.start_mark.line + 1)
            child = _convert(value_node, source, budget, depth + 1)
            out[key] = Node(child.value, key_node.start_mark.line + 1, child.raw, child.plain)
        return Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, source, budget, depth + 1) for item in node.value], line)
    constructor = yaml.SafeLoader(" ")
    try:
        value = constructor.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise BadInput(f"{source}:{line}: cannot read value {node.value!r}: {exc}") from None
    finally:
        constructor.dispose()
    return Node(value, line, node.value, node.style is None)


# --- validation -------------------------------------------------------------------------------


class _Reader:
    """Typed access to a mapping of Nodes, with errors naming file, line and key."""

    def __init__(self, source: str, node: Node, prefix: str, allowed: tuple[str, ...]) -> None:
        self.source = source
        self.prefix = prefix
        if not isinstance(node.value, dict):
            raise self.error(node.line, prefix.rstrip("."), "expected a mapping of keys")
        self.items: dict[str, Node] = node.value
        self.line = node.line
        for key, child in self.items.items():
            if key not in allowed:
                raise self.error(
                    child.line, prefix + key,
                    "unknown key; valid keys here: " + ", ".join(allowed),
                )

    def error(self, line: int, key: str, problem: str) -> BadInput:
        return BadInput(f"{self.source}:{line}: {key}: {problem}")

    def has(self, key: str) -> bool:
        return key in self.items and self.items[key].value is not None

    def node(self, key: str) -> Node:
        return self.items[key]

    def text(self, key: str, default: str | None = None) -> str | None:
        if not self.has(key):
            return default
        n = self.items[key]
        if isinstance(n.value, (dict, list)):
            raise self.error(n.line, self.prefix + key, "expected text")
        # YAML 1.1 turns 9:30 into 570 and NO into False; for text we keep what was written.
        text = n.raw if n.raw is not None else str(n.value)
        return text.strip()

    def flag(self, key: str, default: bool | None) -> bool | None:
        if not self.has(key):
            return default
        n = self.items[key]
        if not isinstance(n.value, bool):
            raise self.error(n.line, self.prefix + key,
                             f"expected true or false, got {n.raw!r}")
        return n.value

    def whole(self, key: str, default: int | None, low: int, high: int) -> int | None:
        if not self.has(key):
            return default
        n = self.items[key]
        # Only plain decimal digits: YAML 1.1 also reads 1:00 (sexagesimal) and 0o17 as numbers.
        if isinstance(n.value, bool) or not re.fullmatch(r"[0-9]+", (n.raw or "").strip()):
            raise self.error(n.line, self.prefix + key, f"expected a whole number, got {n.raw!r}")
        value = int(n.raw or "0")
        if not low <= value <= high:
            raise self.error(n.line, self.prefix + key,
                             f"{value} is out of range; use {low} to {high}")
        return value

    def words(self, key: str) -> tuple[str, ...] | None:
        if not self.has(key):
            return None
        n = self.items[key]
        items = n.value if isinstance(n.value, list) else None
        if items is None or any(isinstance(i.value, (dict, list)) for i in items):
            raise self.error(n.line, self.prefix + key, "expected a list like [a, b]")
        return tuple((i.raw if i.raw is not None else str(i.value)).strip() for i in items)

    def section(self, key: str, allowed: tuple[str, ...]) -> _Reader | None:
        if not self.has(key):
            return None
        return _Reader(self.source, self.items[key], f"{self.prefix}{key}.", allowed)


TOP_KEYS = ("sender", "timezone", "cooling_off", "send_window", "smtp", "defaults",
            "templates_dir", "focus_areas", "scenarios", "tone", "imap", "follow_up",
            "language")


def load_config(path: Path) -> Config:
    """Read and validate the config file; a missing file means the built-in defaults."""
    try:
        # Read a bounded amount: a config pointing at /dev/zero (or a disk image) would
        # otherwise be read until memory runs out.
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise BadInput(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, which no "
                           "config is; check that --config or DRAFT_FEEDBACK_CONFIG names the "
                           "config file")
        text = data.decode("utf-8")
    except FileNotFoundError:
        return Config(path=path, exists=False, timezone=ZoneInfo(local_timezone_name()),
                      send_window=_default_window(ZoneInfo(local_timezone_name())))
    except IsADirectoryError:
        raise BadInput(f"{path}: is a folder, not a config file") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the config file: {exc.strerror}") from None
    return parse_config(text, path)


def _default_window(tz: ZoneInfo) -> SendWindow:
    from draft_feedback.timing import default_window

    return default_window(tz)


def parse_config(text: str, path: Path) -> Config:
    """Validate config text into a Config; every error names the file, the line and the key."""
    source = str(path)
    root = parse_yaml(text, source)
    if root.value in ({}, None):
        tz = ZoneInfo(local_timezone_name())
        return Config(path=path, exists=True, timezone=tz, send_window=_default_window(tz))
    top = _Reader(source, root, "", TOP_KEYS)

    tz_name = top.text("timezone")
    if tz_name is None:
        tz = ZoneInfo(local_timezone_name())
    else:
        found = _zone(tz_name)
        if found is None or not tz_name:
            raise top.error(top.node("timezone").line, "timezone",
                            f"unknown timezone {tz_name!r}; use an IANA name like Europe/Berlin")
        tz = found

    sender = _sender(top)
    cooling = top.section("cooling_off", ("hours",))
    hours = 48
    if cooling is not None:
        hours = _cooling_hours(cooling, "hours") or 48

    return Config(
        path=path,
        exists=True,
        timezone=tz,
        sender=sender,
        cooling_off_hours=hours,
        send_window=_send_window(top, tz),
        smtp=_smtp(top),
        defaults=_defaults(top),
        templates_dir=Path(t).expanduser() if (t := top.text("templates_dir")) else None,
        focus_areas=_focus_areas(top),
        scenarios=_scenarios(top),
        tone=_tone(top),
        imap=_imap(top),
        follow_up_days=_follow_up(top),
        language=_language(top),
    )


def _language(top: _Reader) -> str:
    language = top.text("language")
    if language is None:
        return language_from_locale(os.environ)
    if language not in LANGUAGES:
        raise top.error(top.node("language").line, "language",
                        f"unknown language {language!r}; use en-GB or en-US")
    return language


def _cooling_hours(reader: _Reader, key: str) -> int | None:
    from draft_feedback.timing import MIN_COOLING_OFF_HOURS

    value = reader.whole(key, None, 0, 24 * 365)
    if value is not None and value < MIN_COOLING_OFF_HOURS:
        raise reader.error(reader.node(key).line, reader.prefix + key,
                           f"{value} hours is too short; the cooling-off is at least "
                           f"{MIN_COOLING_OFF_HOURS} hours")
    return value


def _sender(top: _Reader) -> Sender | None:
    section = top.section("sender", ("name", "email", "signature"))
    if section is None:
        return None
    email = section.text("email")
    if not email:
        raise section.error(section.line, "sender.email",
                            "missing; add your address, e.g. email: alex@example.com")
    name = section.text("name", "") or ""
    address = _checked_address(section, "email", name, email)
    signature_node = section.items.get("signature")
    signature = ""
    if signature_node is not None and signature_node.value is not None:
        if isinstance(signature_node.value, (dict, list)):
            raise section.error(signature_node.line, "sender.signature", "expected text")
        signature = str(signature_node.raw if signature_node.raw is not None
                        else signature_node.value).strip("\n")
        if len(signature) > MAX_TEXT_CHARS * 4:
            raise section.error(signature_node.line, "sender.signature",
                                f"{len(signature):,} characters is too long for a signature; "
                                f"keep it to {MAX_TEXT_CHARS * 4} or fewer")
    return Sender(name=address.name, email=address.email, signature=signature)


def _checked_address(section: _Reader, key: str, name: str, email: str) -> Address:
    from draft_feedback.addresses import (
        MAX_NAME_CHARS,
        Address,
        check_header_value,
        parse_address,
    )

    where = f"{section.source}:{section.node(key).line}: {section.prefix}{key}"
    try:
        name_line = section.node("name").line if section.has("name") else section.line
        clean_name = check_header_value(name,
                                        f"{section.source}:{name_line}: {section.prefix}name")
        parsed = parse_address(email, where)
    except BadInput as exc:
        raise BadInput(str(exc)) from None
    shown = len(" ".join(clean_name.split()))  # as the From header will carry it
    if shown > MAX_NAME_CHARS:
        # Otherwise the request is stored and only its message, at send time, is refused.
        line = section.node("name").line if section.has("name") else section.line
        raise section.error(line, f"{section.prefix}name",
                            f"the name is {shown} characters long; shorten it to "
                            f"{MAX_NAME_CHARS} or fewer")
    return Address(clean_name or parsed.name, parsed.email)


def _send_window(top: _Reader, tz: ZoneInfo) -> SendWindow | None:
    from draft_feedback.timing import default_window, parse_window

    if "send_window" not in top.items:
        return default_window(tz)
    node = top.node("send_window")
    if node.value is False or (isinstance(node.value, str) and node.value.lower() == "off"):
        return None
    if node.value is None:
        return default_window(tz)
    section = _Reader(top.source, node, "send_window.",
                      ("days", "start", "end", "timezone", "holidays"))
    window_tz = tz
    zone_name = section.text("timezone")
    if zone_name:
        found = _zone(zone_name)
        if found is None:
            raise section.error(section.node("timezone").line, "send_window.timezone",
                                f"unknown timezone {zone_name!r}; use an IANA name like "
                                "America/New_York")
        window_tz = found
    days = section.words("days")
    if days == ():
        raise section.error(section.node("days").line, "send_window.days",
                            "is empty, so nothing could ever be sent; list the days like "
                            "[mon, tue, wed, thu, fri], or set send_window: off")
    days = days or ("mon", "tue", "wed", "thu", "fri")
    start = _clock(section, "start", "09:00")
    end = _clock(section, "end", "17:00")
    holidays = section.text("holidays")
    if holidays is not None:
        from draft_feedback.timing import check_holidays

        try:
            holidays = check_holidays(holidays)
        except ValueError as exc:
            raise section.error(section.node("holidays").line, "send_window.holidays",
                                str(exc)) from None
    try:
        return parse_window(days, start, end, window_tz, holidays=holidays or None)
    except ValueError as exc:
        raise section.error(section.line, "send_window", str(exc)) from None


def _clock(section: _Reader, key: str, default: str) -> str:
    if not section.has(key):
        return default
    text = section.text(key) or default
    if not re.fullmatch(r"([01]?[0-9]|2[0-3]):[0-5][0-9]", text):
        raise section.error(section.node(key).line, section.prefix + key,
                            f"{text!r} is not a time of day; write it as \"09:30\"")
    hours, minutes = text.split(":")
    return f"{int(hours):02d}:{minutes}"


def _smtp(top: _Reader) -> Smtp:
    section = top.section(
        "smtp", ("host", "port", "security", "user", "login", "timeout", "oauth2_file"))
    if section is None:
        return Smtp()
    security = (section.text("security", "starttls") or "starttls").lower()
    if security not in SECURITIES:
        raise section.error(section.node("security").line, "smtp.security",
                            f"{security!r} is not one of " + ", ".join(SECURITIES))
    host = section.text("host", "smtp.gmail.com") or "smtp.gmail.com"
    if not _HOST.fullmatch(host):
        raise section.error(section.node("host").line, "smtp.host",
                            f"{host!r} is not a host name")
    port = section.whole("port", DEFAULT_PORTS[security], 1, 65535)
    user = section.text("user")
    if user is not None:
        from draft_feedback.addresses import check_header_value

        try:
            user = check_header_value(user, f"{top.source}: smtp.user")
        except BadInput as exc:
            raise BadInput(str(exc)) from None
    timeout = section.whole("timeout", 60, 1, 3600)
    oauth2 = section.text("oauth2_file")
    login = bool(section.flag("login", True))
    if login and security == "none" and not is_loopback(host):
        line = section.node("security").line if section.has("security") else section.line
        raise section.error(
            line, "smtp.security",
            f"none with smtp.login true would send your password to {host} unencrypted; use "
            "ssl (port 465) or starttls (port 587), or login: false for a relay that needs no "
            "password (none with a login is only for a relay on this machine: localhost, "
            "127.0.0.1, ::1)")
    return Smtp(
        host=host,
        port=port or DEFAULT_PORTS[security],
        security=security,
        user=user or None,
        login=login,
        timeout=float(timeout or 60),
        oauth2_file=str(Path(oauth2).expanduser()) if oauth2 else None,
    )


def _imap(top: _Reader) -> Imap | None:
    if "imap" not in top.items:
        return None
    node = top.node("imap")
    if node.value is False or (isinstance(node.value, str) and node.value.lower() == "off"):
        return None
    if node.value is None or node.value is True:
        node = Node({}, node.line)
    section = _Reader(top.source, node, "imap.",
                      ("host", "port", "security", "user", "mailbox", "timeout", "oauth2_file"))
    security = (section.text("security", "ssl") or "ssl").lower()
    if security not in SECURITIES:
        raise section.error(section.node("security").line, "imap.security",
                            f"{security!r} is not one of " + ", ".join(SECURITIES))
    smtp_host = _smtp(top).host
    host = section.text("host") or IMAP_HOSTS.get(smtp_host.lower())
    if host is None and is_loopback(smtp_host):
        host = smtp_host  # a local bridge (Proton) or test server serves both
    if not host:
        raise section.error(section.line, "imap.host",
                            f"missing; the IMAP server of {smtp_host} is not known, so name it, "
                            "e.g. host: imap.example.com")
    if not _HOST.fullmatch(host):
        raise section.error(section.node("host").line, "imap.host",
                            f"{host!r} is not a host name")
    if security == "none" and not is_loopback(host):
        line = section.node("security").line
        raise section.error(line, "imap.security",
                            f"none would send the password in the clear to {host}; use ssl or "
                            "starttls (security: none is only for a server on this machine)")
    user = section.text("user")
    if user is not None:
        from draft_feedback.addresses import check_header_value

        try:
            user = check_header_value(user, f"{top.source}: imap.user")
        except BadInput as exc:
            raise BadInput(str(exc)) from None
    mailbox = section.text("mailbox", "INBOX") or "INBOX"
    if any(c in mailbox for c in "\r\n\x00\"") or len(mailbox) > 200:
        raise section.error(section.node("mailbox").line, "imap.mailbox",
                            f"{mailbox[:40]!r} is not a mailbox name like INBOX")
    oauth2 = section.text("oauth2_file") or _smtp(top).oauth2_file
    return Imap(
        host=host,
        port=section.whole("port", IMAP_PORTS[security], 1, 65535) or IMAP_PORTS[security],
        security=security,
        user=user or None,
        mailbox=mailbox,
        timeout=float(section.whole("timeout", 60, 1, 3600) or 60),
        oauth2_file=str(Path(oauth2).expanduser()) if oauth2 else None,
    )


def _follow_up(top: _Reader) -> int | None:
    section = top.section("follow_up", ("after_days",))
    if section is None:
        return None
    return section.whole("after_days", None, 3, 60)


def _defaults(top: _Reader) -> Defaults:
    section = top.section("defaults", ("scenario", "tone", "max_questions"))
    if section is None:
        return Defaults()
    tone = (section.text("tone", "warm") or "warm").lower()
    if tone not in TONES:
        raise section.error(section.node("tone").line, "defaults.tone",
                            f"{tone!r} is not one of " + ", ".join(TONES))
    return Defaults(
        scenario=section.text("scenario", "interview") or "interview",
        tone=tone,
        max_questions=section.whole("max_questions", 3, 1, 10) or 3,
    )


_ID = compile_kept(r"[a-z0-9][a-z0-9_-]{0,63}")
_HOST = compile_kept(r"[A-Za-z0-9.\-\[\]:]+")  # a name or an IP address, nothing more


def _entries(top: _Reader, key: str) -> list[tuple[str, Node]]:
    if not top.has(key):
        return []
    node = top.node(key)
    if not isinstance(node.value, dict):
        raise top.error(node.line, key, "expected a mapping of id: {...}")
    for entry_id, entry in node.value.items():
        if not _ID.fullmatch(entry_id):
            raise top.error(entry.line, f"{key}.{entry_id}",
                            "ids are lower-case letters, digits, - and _")
    return list(node.value.items())


def _focus_areas(top: _Reader) -> tuple[FocusAreaOverride, ...]:
    out = []
    for area_id, node in _entries(top, "focus_areas"):
        section = _Reader(top.source, node, f"focus_areas.{area_id}.",
                          ("label", "question", "scenarios", "keywords"))
        question = _line_text(section, "question")
        out.append(FocusAreaOverride(
            id=area_id,
            label=_line_text(section, "label"),
            question=question,
            scenarios=section.words("scenarios"),
            keywords=tuple(k.lower() for k in section.words("keywords") or ()) or None,
            where=f"{top.source}:{node.line}: focus_areas.{area_id}",
        ))
    return tuple(out)


def _line_text(section: _Reader, key: str) -> str | None:
    value = section.text(key)
    if value is not None and (not value or any(c in value for c in "\r\n\x00")):
        raise section.error(section.node(key).line, section.prefix + key,
                            "expected one line of text")
    if value is not None and len(value) > MAX_TEXT_CHARS:
        # A label or question goes into a short email; reported here, not as a huge render.
        raise section.error(section.node(key).line, section.prefix + key,
                            f"{len(value):,} characters is too long; keep it to "
                            f"{MAX_TEXT_CHARS} or fewer")
    return value


def _scenarios(top: _Reader) -> tuple[ScenarioOverride, ...]:
    out = []
    for scenario_id, node in _entries(top, "scenarios"):
        section = _Reader(
            top.source, node, f"scenarios.{scenario_id}.",
            ("label", "description", "template", "subject", "default_areas",
             "cooling_off_hours", "thank_you_only"),
        )
        template = section.text("template")
        if template is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", template):
            raise section.error(section.node("template").line, section.prefix + "template",
                                f"{template!r} is not a template file name like interview.txt.j2")
        out.append(ScenarioOverride(
            id=scenario_id,
            label=_line_text(section, "label"),
            description=_line_text(section, "description"),
            template=template,
            subject=_line_text(section, "subject"),
            default_areas=section.words("default_areas"),
            cooling_off_hours=_cooling_hours(section, "cooling_off_hours"),
            thank_you_only=section.flag("thank_you_only", None),
            where=f"{top.source}:{node.line}: scenarios.{scenario_id}",
        ))
    return tuple(out)


def _tone(top: _Reader) -> Tone:
    section = top.section("tone", ("disable", "rules"))
    if section is None:
        return Tone()
    rules: list[Mapping[str, Any]] = []
    if section.has("rules"):
        node = section.node("rules")
        if not isinstance(node.value, list):
            raise section.error(node.line, "tone.rules", "expected a list of rules")
        for item in node.value:
            if not isinstance(item.value, dict):
                raise section.error(item.line, "tone.rules", "each rule is a mapping")
            rules.append({k: _plain(v) for k, v in item.value.items()})
    return Tone(disable=section.words("disable") or (), rules=tuple(rules))


def _plain(node: Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    if isinstance(node.value, str) or node.raw is None:
        return node.value
    return node.value if isinstance(node.value, (int, float)) else node.raw
