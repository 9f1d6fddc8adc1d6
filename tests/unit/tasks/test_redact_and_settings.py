import json
import logging
import re
import string
import sys

import pytest

from tasks.redact import HINTS, RedactingFilter, maybe_secret, redact
from tasks.settings import Settings, load_settings


@pytest.mark.parametrize(
    "secret",
    [
        "xoxb-1234-5678-abcdef",
        "xapp-1-A111-222-abc",
        "https://hooks.slack.com/commands/T111/222/abcDEF",
        "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT111%2F222%2FabcDEF&x=1",
        "https://app.ekuaibao.com/api/x?accessToken=ID_3vMMouDbGqM:djg8LshfUkfM00",
        "https://files-dd.ekuaibao.com/a.pdf?Expires=1&OSSAccessKeyId=STS.abc&Signature=xyz%3D&security-token=CAIS8",
        '{"appKey": "abcDEF", "appSecurity": "CAIS8"}',
        "refreshToken=ID_3vMMouDbGqM&x=1",
        "https://hooks.slack.com/actions/T111/222/abcDEF",
        "HTTPS%3A%2F%2Fhooks.slack.com%2FACTIONS%2FT111%2F222%2FabcDEF",
    ],
)
def test_redact_removes_secrets(secret: str) -> None:
    cleaned = redact(f"failed: {secret} !")
    for part in ("1234-5678", "A111", "abcDEF", "ID_3vMMouDbGqM", "STS.abc", "xyz%3D", "CAIS8"):
        assert part not in cleaned


@pytest.mark.parametrize(
    "secret",
    [
        {"response_url": "https://hooks.slack.com/commands/T111/222/abcDEF"},
        {"response_url": "https://hooks.slack.com/actions/T111/222/abcDEF"},
        {"url": "wss://wss-primary.slack.com/link/?ticket=abcDEF-1&app_id=A111"},
        {"headers": {"Authorization": "Bearer xapp-1-A111-222-abcDEF"}},
        {"token": "xapp-1-A111-222-abcDEF", "bot": "xoxb-1234-5678-abcDEF"},
        {"files": ["https://files-dd.ekuaibao.com/a.pdf?Expires=1&Signature=abcDEF%3D"]},
    ],
)
def test_redact_removes_secrets_from_json_that_escapes_slashes(secret: dict[str, object]) -> None:
    """Slack's JSON writes `/` as `\\/`; slack_sdk logs Socket Mode envelopes as received."""
    envelope = json.dumps({"envelope_id": "e1", "payload": secret}).replace("/", "\\/")
    cleaned = redact(f"on_message invoked: (message: {envelope})")
    assert "abcDEF" not in cleaned and "A111-222" not in cleaned
    assert "envelope_id" in cleaned


def test_lines_without_secrets_are_left_as_they_are() -> None:
    line = "lookup 0de0: 5 ids for user U0SANDBOX in C0SANDBOX, 发票 djg8:1:2"
    assert redact(line) is line


def test_the_quick_look_misses_no_spelling_the_patterns_take() -> None:
    """Every character a case-insensitive pattern takes for an ASCII letter (K for the
    Kelvin sign, ſ for s, ı for i…), put into a hint, still makes the line worth a look."""
    letter = re.compile("[a-z]", re.I)
    twins = [
        (chr(cp), x)
        for cp in range(sys.maxunicode + 1)
        if letter.fullmatch(chr(cp))
        for x in string.ascii_lowercase
        if re.fullmatch(x, chr(cp), re.I)
    ]
    assert len(twins) > 52  # more than the ASCII letters themselves
    for twin, x in twins:
        for hint in (h for h in HINTS if x in h):
            assert maybe_secret("id=1 " + hint.replace(x, twin, 1) + "=abc"), (twin, hint)
    assert not maybe_secret("lookup 2afae57b: 5 ids, 5 found, 0 not found, 1 message(s)")
    assert redact("appſecret=abc") == "appſecret=[redacted]"


def test_filter_cleans_messages_args_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", ("xoxb-1-2-3",), None)
    try:
        raise ValueError("https://hooks.slack.com/actions/T1/2/SECRET")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert "xoxb-1-2-3" not in record.getMessage()
    assert "SECRET" not in (record.exc_text or "")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2")
    monkeypatch.setenv("EKUAIBAO_BASE_URL", "https://dd2.hosecloud.com/")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:1/api")
    settings = Settings()
    assert settings.ekuaibao_base_url == "https://dd2.hosecloud.com"
    assert settings.slack_api_url == "http://127.0.0.1:1/api/"
    assert "xoxb-1-2" not in repr(settings)
    assert settings.broker_url.startswith("embedded:///")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/3")
    assert Settings().redis_url == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize(
    ("env", "pool"),
    [
        ({}, "threads"),  # the embedded broker: SQLite
        ({"STATE_REDIS_URL": "redis://127.0.0.1:6379/4"}, "threads"),  # the queue is SQLite
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"}, "gevent"),
        ({"CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//"}, "threads"),  # SQLite state
        (
            {
                "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
                "STATE_REDIS_URL": "redis://127.0.0.1:6379/4",
            },
            "gevent",
        ),
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/3", "WORKER_POOL": "threads"}, "threads"),
        ({"WORKER_POOL": "prefork"}, "prefork"),
    ],
)
def test_green_threads_only_where_nothing_is_sqlite(monkeypatch, tmp_path, env, pool) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings().pool == pool


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "setting SLACK_BOT_TOKEN is invalid"),
        ("SLACK_APP_TOKEN", "xoxb-wrong", "setting SLACK_APP_TOKEN is invalid"),
        ("EKUAIBAO_BASE_URL", "app.ekuaibao.com", "setting EKUAIBAO_BASE_URL is invalid"),
        ("CELERY_BROKER_URL", "mongodb://x", "setting CELERY_BROKER_URL is invalid"),
        ("EKUAIBAO_TIMEOUT_S", "soon", "setting EKUAIBAO_TIMEOUT_S is invalid"),
        ("SLACK_RESPONSE_URL_PREFIXES", "http://hooks.slack.com/", "setting SLACK_RESPONSE_URL_"),
        ("SLACK_RESPONSE_URL_PREFIXES", "https:///", "setting SLACK_RESPONSE_URL_PREFIXES is"),
        ("SLACK_RESPONSE_URL_PREFIXES", "https://hooks.slack.com/x", "setting SLACK_RESPONSE_URL_"),
        ("HTTP_IDLE_TIMEOUT_S", "0", "setting HTTP_IDLE_TIMEOUT_S is invalid"),
    ],
)
def test_bad_setting_is_one_line_and_exit_2(
    monkeypatch, tmp_path, capsys, name, value, message
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_:
        load_settings()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("invoicebot: " + message) and err.count("\n") == 1
    assert value not in err


def test_response_url_prefixes_default_to_slacks_and_take_govslack_or_a_stand_in(
    monkeypatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert Settings().slack_response_url_prefixes == ("https://hooks.slack.com/",)
    monkeypatch.setenv(
        "SLACK_RESPONSE_URL_PREFIXES", "https://hooks.slack-gov.com/, http://127.0.0.1:8123/"
    )
    assert Settings().slack_response_url_prefixes == (
        "https://hooks.slack-gov.com/",
        "http://127.0.0.1:8123/",
    )


def test_missing_required_setting_names_it(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EKUAIBAO_APP_KEY", raising=False)
    with pytest.raises(SystemExit) as exit_:
        load_settings(require=("ekuaibao_app_key",))
    assert exit_.value.code == 2
    assert "EKUAIBAO_APP_KEY is missing" in capsys.readouterr().err


def test_a_publish_timeout_is_found_inside_kombus_wrapping() -> None:

    from kombu.exceptions import OperationalError

    from bot.enqueue import timed_out

    def wrapped(inner: BaseException) -> BaseException:
        try:
            try:
                raise inner
            except BaseException as exc:
                raise OperationalError(str(exc)) from exc
        except OperationalError as outer:
            return outer

    assert timed_out(wrapped(TimeoutError("timed out")))
    assert timed_out(wrapped(type("TimeoutError", (Exception,), {})("redis-py's own")))
    assert not timed_out(wrapped(ConnectionRefusedError(111, "Connection refused")))
    assert not timed_out(ConnectionResetError(104, "reset"))


def test_one_list_of_settings_is_cleared_everywhere(monkeypatch) -> None:
    """Tests, the demo and the bench clear `without_settings`: every Settings field, in
    any case, and what Bolt and Celery read themselves; nothing else."""
    from tasks.environment import is_setting, without_settings
    from tasks.settings import Settings

    for name in Settings.model_fields:
        assert is_setting(name.upper()) and is_setting(name)
    env = {"ACCESS_MODE": "allowlist", "slack_client_id": "x", "PATH": "/bin", "HOME": "/h"}
    assert without_settings(env) == {"PATH": "/bin", "HOME": "/h"}
