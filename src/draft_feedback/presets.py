"""A first config: the user's own identity, a mail provider's settings, the rest commented out."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from draft_feedback.errors import BadInput


@dataclass(frozen=True)
class Provider:
    """The SMTP (and IMAP) settings of a mail provider, and what its users need to know."""

    id: str
    label: str
    host: str
    port: int
    security: str
    login: bool = True
    imap_host: str | None = None
    imap_port: int = 993
    imap_security: str = "ssl"
    note: str = ""
    domains: tuple[str, ...] = ()


PROVIDERS: dict[str, Provider] = {p.id: p for p in (
    Provider("gmail", "Gmail / Google Workspace", "smtp.gmail.com", 587, "starttls",
             imap_host="imap.gmail.com",
             note="Gmail needs an app password (Google Account > Security > 2-Step "
                  "Verification > App passwords); give it to `draft-feedback login`.",
             domains=("gmail.com", "googlemail.com")),
    Provider("outlook", "Outlook.com / Microsoft 365", "smtp.office365.com", 587, "starttls",
             imap_host="outlook.office365.com",
             note="Microsoft 365 administrators can turn SMTP logins off; if the login is "
                  "refused, ask yours to allow SMTP AUTH for your mailbox.",
             domains=("outlook.com", "hotmail.com", "live.com", "msn.com")),
    Provider("fastmail", "Fastmail", "smtp.fastmail.com", 465, "ssl",
             imap_host="imap.fastmail.com",
             note="Fastmail needs an app password (Settings > Privacy & Security > "
                  "Integrations > App passwords).",
             domains=("fastmail.com", "fastmail.fm")),
    Provider("icloud", "iCloud Mail", "smtp.mail.me.com", 587, "starttls",
             imap_host="imap.mail.me.com",
             note="iCloud needs an app-specific password (account.apple.com > Sign-In and "
                  "Security > App-Specific Passwords).",
             domains=("icloud.com", "me.com", "mac.com")),
    Provider("proton-bridge", "Proton Mail through Proton Mail Bridge", "127.0.0.1", 1025,
             "none", imap_host="127.0.0.1", imap_port=1143, imap_security="none",
             note="Proton Mail Bridge must be running; use the password Bridge shows for this "
                  "account, not your Proton password. Bridge listens on this machine only, so "
                  "the password never crosses the network.",
             domains=("proton.me", "protonmail.com", "pm.me")),
    Provider("relay", "A mail relay on this machine (postfix, msmtpd, ...)", "localhost", 25,
             "none", login=False,
             note="The relay accepts mail from this machine without a login."),
)}


def guess_provider(email: str) -> str | None:
    """Return the provider id an address's domain belongs to, if it is a well-known one."""
    domain = email.rpartition("@")[2].lower()
    for provider in PROVIDERS.values():
        if domain in provider.domains:
            return provider.id
    return None


def check_identity(name: str, email: str, timezone: str) -> tuple[str, str, str]:
    """Check the values typed for config init; BadInput names the option that is wrong."""
    from zoneinfo import ZoneInfo

    from draft_feedback.addresses import MAX_NAME_CHARS, check_header_value, parse_address

    clean_name = " ".join(check_header_value(name, "--name").split())
    if not clean_name:
        raise BadInput("--name: your name is empty; give the name your emails are signed with")
    if len(clean_name) > MAX_NAME_CHARS:
        raise BadInput(f"--name: {len(clean_name)} characters is too long; shorten it to "
                       f"{MAX_NAME_CHARS} or fewer")
    address = parse_address(email, "--email")
    if address.name:
        raise BadInput("--email: give the address alone, like ana@example.org; the name goes "
                       "in --name")
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError, OSError):
        raise BadInput(f"--timezone: unknown timezone {timezone!r}; use an IANA name like "
                       "Europe/Berlin or America/New_York") from None
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", timezone):
        raise BadInput(f"--timezone: {timezone!r} is not an IANA name like Europe/Berlin")
    return clean_name, address.email, timezone


def _q(value: str) -> str:
    """A YAML scalar for any text: JSON strings are valid YAML double-quoted scalars."""
    return json.dumps(value, ensure_ascii=False)


def _filled(key: str, name: str, email: str, timezone: str,
            provider: Provider | None) -> list[str] | None:
    """The lines written for a key the user gave a value for; None keeps it commented out."""
    if key == "sender":
        return ["sender:", f"  name: {_q(name)}", f"  email: {_q(email)}",
                "  # signature: |-", f"  #   {name}", f"  #   {email}"]
    if key == "timezone":
        return [f"timezone: {timezone}"]
    if key == "smtp" and provider is not None:
        import textwrap

        lines = [*(f"# {part}" for part in textwrap.wrap(f"{provider.label}. {provider.note}",
                                                          96)), "smtp:",
                 f"  host: {provider.host}", f"  port: {provider.port}",
                 f"  security: {provider.security}",
                 f"  login: {'true' if provider.login else 'false'}"]
        if provider.login:
            lines.append(f"  # The login name; default: sender.email ({email}).")
            lines.append(f"  # user: {email}")
        return lines
    return None


def _imap_lines(provider: Provider, email: str) -> list[str]:
    return ["# imap:", f"#   host: {provider.imap_host}", f"#   port: {provider.imap_port}",
            f"#   security: {provider.imap_security}", f"#   user: {email}"]


def _blocks(example: str) -> tuple[list[str], list[tuple[str, list[str], list[str]]]]:
    """Split the example into its header and (key, comment lines, value lines) blocks."""
    lines = example.splitlines()
    header: list[str] = []
    while lines and lines[0].startswith("#"):
        header.append(lines.pop(0))
    blocks: list[tuple[str, list[str], list[str]]] = []
    comments: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        top = re.match(r"([a-z_]+):", line)
        if top is None:
            comments.append(line)
            i += 1
            continue
        body = [line]
        i += 1
        while i < len(lines) and (lines[i].startswith((" ", "\t")) or (
                not lines[i].strip() and i + 1 < len(lines)
                and lines[i + 1].startswith((" ", "\t")))):
            body.append(lines[i])
            i += 1
        blocks.append((top.group(1), comments, body))
        comments = []
    if comments:
        blocks.append(("", comments, []))
    return header, blocks


def initial_config(name: str, email: str, timezone: str, provider_id: str | None) -> str:
    """Return the text of a first config: these values set, every other key commented out."""
    from draft_feedback.resources import example_config

    provider = PROVIDERS[provider_id] if provider_id else None
    _, blocks = _blocks(example_config())
    out = [
        "# draft-feedback configuration, written by `draft-feedback config init`.",
        "#",
        "# Your name, address and timezone are set below" + (
            f", and the mail settings for\n# {provider.label}." if provider else "."),
        "# Every other key is commented out and shows its default or an example: remove the",
        "# leading '# ' of a block to use it. `draft-feedback config check` validates the file.",
    ]
    seen = set()
    for key, comments, body in blocks:
        seen.add(key)
        out += comments
        filled = _filled(key, name, email, timezone, provider)
        if filled is not None:
            if filled[0].startswith("# ") and out and out[-1].startswith("#"):
                out.append("#")
            out += filled
        elif key == "imap" and provider is not None and provider.imap_host:
            out += _imap_lines(provider, email)
        else:
            out += [f"# {line}" if line.strip() else "" for line in body]
    if "smtp" not in seen and provider is not None:
        out += ["", *(_filled("smtp", name, email, timezone, provider) or [])]
    if "imap" not in seen and provider is not None and provider.imap_host:
        out += ["", "# Your mailbox, read-only, to notice replies.", *_imap_lines(provider, email)]
    return "\n".join(out).rstrip("\n") + "\n"


def write_initial_config(target: Path, text: str, force: bool) -> Path:
    """Write a first config, never over an existing file without force, after validating it."""
    from draft_feedback.config import parse_config

    if target.exists() and not force:
        raise BadInput(f"{target} already exists; edit it, or add --force to replace it")
    parse_config(text, target)  # what config check will say, before anything is written
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{target}: cannot write: {exc.strerror}") from None
    return target
