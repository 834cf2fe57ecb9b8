"""Config loading: defaults, every key, YAML traps and errors naming file, line and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from draft_feedback.config import config_path, home_dir, load_config, parse_config
from draft_feedback.errors import BadInput
from draft_feedback.resources import example_config


def parse(text: str) -> object:
    return parse_config(text, Path("/cfg/config.yaml"))


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yaml")
    assert not config.exists
    assert config.cooling_off_hours == 48
    assert config.defaults.max_questions == 3
    assert config.defaults.tone == "warm"
    assert config.sender is None
    assert config.send_window is not None
    assert config.send_window.days == frozenset(range(5))
    assert config.send_window.start == dt.time(9)


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# nothing yet\n")
    config = load_config(path)
    assert config.exists and config.cooling_off_hours == 48


def test_example_config_is_valid_and_complete() -> None:
    config = parse(example_config())
    assert config.sender is not None and config.sender.email == "alex@example.com"
    assert config.timezone.key == "Europe/Berlin"
    assert config.smtp.host == "smtp.gmail.com" and config.smtp.port == 587
    for key in ("sender:", "timezone:", "cooling_off:", "send_window:", "smtp:", "defaults:",
                "templates_dir:", "focus_areas:", "scenarios:", "tone:", "oauth2_file:",
                "max_questions:", "signature:", "security:", "login:", "timeout:",
                "cooling_off_hours:", "thank_you_only:", "disable:", "rules:", "holidays:",
                "imap:", "mailbox:", "follow_up:", "after_days:"):
        assert key in example_config(), key


def test_every_key_is_read() -> None:
    config = parse("""\
sender: {name: Alex Rivera, email: alex@example.com, signature: "Alex\\nData person"}
timezone: Europe/Berlin
cooling_off: {hours: 72}
send_window: {days: [mon, wed], start: "08:30", end: "12:00", timezone: America/New_York}
smtp: {host: mail.example.com, port: 465, security: ssl, user: alex, login: true, timeout: 30}
defaults: {scenario: submission, tone: formal, max_questions: 2}
templates_dir: /tmp/my-templates
focus_areas:
  my-area: {label: Mine, question: "What could I add?", scenarios: [interview]}
scenarios:
  interview: {cooling_off_hours: 96, thank_you_only: false}
tone:
  disable: [shouting-caps]
  rules: [{id: no-sigh, pattern: "\\\\bsigh\\\\b", severity: warning, message: m, suggestion: s}]
""")
    assert config.sender.signature == "Alex\nData person"
    assert config.cooling_off_hours == 72
    assert config.send_window.days == frozenset({0, 2})
    assert config.send_window.start == dt.time(8, 30)
    assert config.send_window.tz.key == "America/New_York"
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "mail.example.com", 465, "ssl")
    assert config.smtp_user == "alex"
    assert config.defaults.max_questions == 2
    assert config.templates_dir == Path("/tmp/my-templates")
    assert config.focus_areas[0].id == "my-area"
    assert config.scenarios[0].cooling_off_hours == 96
    assert config.tone.disable == ("shouting-caps",)
    assert config.tone.rules[0]["id"] == "no-sigh"


def test_yaml_traps_are_handled_on_purpose() -> None:
    # Unquoted 9:30 is the integer 570 in YAML 1.1; `off` is false; NO is false.
    config = parse("send_window: {start: 9:30, end: 17:45}\nsender: {name: NO, "
                   "email: no@example.com}\n")
    assert config.send_window.start == dt.time(9, 30)
    assert config.send_window.end == dt.time(17, 45)
    assert config.sender.name == "NO"
    assert parse("send_window: off\n").send_window is None
    assert parse("send_window: false\n").send_window is None
    assert parse("smtp: {login: no}\n").smtp.login is False


def test_smtp_user_defaults_to_sender() -> None:
    config = parse("sender: {name: A, email: a@example.com}\n")
    assert config.smtp_user == "a@example.com"
    assert config.smtp.port == 587


def test_port_follows_security() -> None:
    assert parse("smtp: {security: ssl}\n").smtp.port == 465
    assert parse("smtp: {security: none, login: false}\n").smtp.port == 25


@pytest.mark.parametrize("host", ["smtp.example.com", "10.0.0.5", "2001:db8::1",
                                  "localhost.example.com", "127.0.0.1.example.com"])
def test_a_password_in_clear_to_another_machine_is_refused(host: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse(f"smtp:\n  host: {host}\n  security: none\n  login: true\n")
    assert str(caught.value).startswith(
        f"/cfg/config.yaml:3: smtp.security: none with smtp.login true would send your "
        f"password to {host} unencrypted; use ssl (port 465) or starttls (port 587)")


@pytest.mark.parametrize(("host", "login"), [
    ("localhost", "true"), ("127.0.0.1", "true"), ("127.1.2.3", "true"), ("::1", "true"),
    ("[::1]", "true"), ("smtp.example.com", "false"), ("10.0.0.5", "false")])
def test_no_tls_is_allowed_on_this_machine_or_without_a_login(host: str, login: str) -> None:
    config = parse(f"smtp:\n  host: \"{host}\"\n  security: none\n  login: {login}\n")
    assert (config.smtp.host, config.smtp.security) == (host, "none")


def test_config_check_says_why_a_clear_text_login_is_refused(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from draft_feedback.cli import cli

    path = tmp_path / "config.yaml"
    path.write_text("smtp:\n  host: mail.example.net\n  port: 25\n  security: none\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}:4: smtp.security: none with smtp.login "
                                    "true would send your password to mail.example.net "
                                    "unencrypted")


@pytest.mark.parametrize(
    ("text", "expected_error"),
    [
        ("colour: blue\n", "/cfg/config.yaml:1: colour: unknown key"),
        ("smtp:\n  hots: x\n", "/cfg/config.yaml:2: smtp.hots: unknown key"),
        ("smtp: {port: abc}\n", "smtp.port: expected a whole number, got 'abc'"),
        ("smtp: {port: 1:00}\n", "smtp.port: expected a whole number, got '1:00'"),
        ("smtp: {security: tls}\n", "smtp.security: 'tls' is not one of ssl, starttls, none"),
        ("smtp: {login: maybe}\n", "smtp.login: expected true or false"),
        ("timezone: Mars/Olympus\n", "/cfg/config.yaml:1: timezone: unknown timezone"),
        ("cooling_off: {hours: 12}\n",
         "cooling_off.hours: 12 hours is too short; the cooling-off is at least 24 hours"),
        ("scenarios:\n  interview: {cooling_off_hours: 2}\n",
         "/cfg/config.yaml:2: scenarios.interview.cooling_off_hours: 2 hours is too short"),
        ("sender: {name: A, email: not-an-address}\n",
         "/cfg/config.yaml:1: sender.email: 'not-an-address' is not a valid email address"),
        ("sender: {name: A}\n", "sender.email: missing"),
        ("sender: {name: \"A\\nBcc: x@evil.example\", email: a@example.com}\n",
         "line break or control character"),
        ("send_window: {start: \"25:00\"}\n", "send_window.start: '25:00' is not a time of day"),
        ("send_window: {days: [mon, funday]}\n", "send_window: days: 'funday' is not a day"),
        ("send_window: {start: \"17:00\", end: \"09:00\"}\n", "must be after start"),
        ("send_window: {timezone: Nowhere/Land}\n", "send_window.timezone: unknown timezone"),
        ("defaults: {tone: angry}\n", "defaults.tone: 'angry' is not one of warm, formal, brief"),
        ("defaults: {max_questions: 0}\n", "defaults.max_questions: 0 is out of range"),
        ("timezone: Europe/Berlin\ntimezone: UTC\n",
         "/cfg/config.yaml:2: timezone: duplicate key (first given on line 1)"),
        ("smtp: [a, b]\n", "smtp: expected a mapping"),
        ("sender: {name: A, email: a@example.com\n", "/cfg/config.yaml:2: not valid YAML"),
        ("a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
         "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
         "/cfg/config.yaml:1: the file expands to more than 20,000 values through aliases "
         "(*name repeating an &name) (line 5: e); write the values out"),
        ("sender: {name: A, email: a@example.com}\nfocus_areas:\n" + "".join(
            f"  area-{i}: {{label: L, question: 'Which part?', scenarios: [interview]}}\n"
            for i in range(6000)),
         "/cfg/config.yaml:4002: the file holds more than 20,000 values (line 2: focus_areas); "
         "a config needs a few hundred: keep only the entries you use"),
        ("focus_areas:\n  Bad Id: {label: x}\n", "focus_areas.Bad Id: ids are lower-case"),
        ("scenarios:\n  x: {template: ../../etc/passwd}\n", "is not a template file name"),
        ("!!python/object:os.system {}\n", "not valid YAML"),
    ],
)
def test_bad_config_names_file_line_and_key(text: str, expected_error: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse(text)
    assert expected_error in str(caught.value)


def test_unreadable_config_is_bad_input(tmp_path: Path) -> None:
    folder = tmp_path / "config.yaml"
    folder.mkdir()
    with pytest.raises(BadInput, match="is a folder"):
        load_config(folder)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(BadInput, match="not a UTF-8 text file"):
        load_config(binary)


def test_paths_follow_options_then_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_path(str(tmp_path / "x.yaml")) == tmp_path / "x.yaml"
    monkeypatch.setenv("DRAFT_FEEDBACK_CONFIG", str(tmp_path / "env.yaml"))
    assert config_path() == tmp_path / "env.yaml"
    monkeypatch.delenv("DRAFT_FEEDBACK_CONFIG")
    assert config_path().name == "config.yaml"
    assert "draft-feedback" in str(config_path())
    monkeypatch.setenv("DRAFT_FEEDBACK_HOME", str(tmp_path / "data"))
    assert home_dir() == tmp_path / "data"
    assert home_dir(str(tmp_path / "opt")) == tmp_path / "opt"


@pytest.mark.parametrize(("text", "expected_error"), [
    pytest.param("send_window: {days: []}\n", ":1: send_window.days: is empty, so nothing could "
                 "ever be sent", id="no-days"),
    pytest.param('sender: {name: "Alex\\rRivera", email: alex@example.com}\n',
                 ":1: sender.name: contains a line break or control character (U+000D)",
                 id="cr-in-sender-name"),
])
def test_a_config_that_could_never_work_is_refused(run: Any, tmp_path: Path, text: str,
                                                   expected_error: str) -> None:
    (tmp_path / "config.yaml").write_text(text)
    result = run("config", "check")
    assert result.exit_code == 2
    assert expected_error in result.stderr
    assert result.stderr.startswith(f"Error: {tmp_path / 'config.yaml'}")


def test_a_config_that_is_an_endless_device_is_refused_at_once(run: Any) -> None:
    import time

    started = time.monotonic()
    result = run("--config", "/dev/zero", "list")
    assert result.exit_code == 2
    assert "Error: /dev/zero: larger than 1024 KiB, which no config is" in result.stderr
    assert time.monotonic() - started < 5


def test_a_byte_that_is_not_utf8_in_an_option_is_named_as_such(run: Any,
                                                              config_file: Path) -> None:
    org = b"Caf\xe9".decode("utf-8", "surrogateescape")  # what Python makes of Latin-1 argv
    result = run("new", "--to", "Priya <priya@example.com>", "--org", org)
    assert result.exit_code == 2
    assert "--org: contains the byte 0xE9 (U+DCE9), which is not UTF-8 text" in result.stderr
    assert "line break" not in result.stderr


@pytest.mark.parametrize("environ", [
    {"XDG_CONFIG_HOME": "/srv/conf", "XDG_DATA_HOME": "/srv/data", "HOME": "/home/ana"},
    {"XDG_CONFIG_HOME": "/srv/conf/", "XDG_DATA_HOME": "/srv//data", "HOME": "/home/ana"},
    {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "", "HOME": "/home/ana/"},
    {"XDG_CONFIG_HOME": "relative/conf", "XDG_DATA_HOME": "~/data", "HOME": "/home/ana"},
    {"HOME": "/home/ana"},
    {"HOME": "/"},
    {"HOME": "relative-home"},
    {"XDG_CONFIG_HOME": "/srv/conf", "XDG_DATA_HOME": "/srv/data"},
    {},
])
def test_the_config_and_data_folders_are_platformdirs_own(
        environ: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Without importing platformdirs where the answer is plain; the same answer either way.
    import platformdirs

    from draft_feedback.config import user_config_dir

    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME", "DRAFT_FEEDBACK_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    try:
        config_folder = platformdirs.user_config_dir("draft-feedback", appauthor=False)
        data_folder = platformdirs.user_data_dir("draft-feedback", appauthor=False)
    except RuntimeError:  # no home platformdirs can name: ours says the same
        with pytest.raises(RuntimeError):
            user_config_dir()
        return
    assert str(user_config_dir()) == str(Path(config_folder))
    assert str(home_dir()) == str(Path(data_folder))
