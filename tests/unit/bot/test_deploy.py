"""The service examples in deploy/ run real commands with real flags, and give the bot
time enough to stop the way it does on SIGTERM."""

from __future__ import annotations

import argparse
import configparser
import shlex
import tomllib
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.graceful import DRAIN_S
from bot.supervise import CELERY_STOP_S, EXIT_SETTINGS, WORKER_CHILD_STOP_S

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def script_name() -> str:
    """The console script pyproject.toml installs for bot.cli:main."""
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    [name] = [name for name, target in scripts.items() if target == "bot.cli:main"]
    return str(name)


def parse_command(command: str) -> argparse.Namespace:
    """Our own parser must accept the command line, as `invoicebot` would."""
    argv = shlex.split(command)
    assert Path(argv[0]).name == script_name(), argv
    try:
        return build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"invoicebot rejects: {command}")


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    unit.read_string(path.read_text())
    return unit


def seconds(value: str) -> float:
    """systemd time spans as we write them: `40`, `40s`, `1min 30s`."""
    total = 0.0
    for part in value.split():
        number = part.rstrip("mins")
        total += float(number) * (60 if part.endswith("min") else 1)
    return total


def test_there_is_a_unit_for_serve_and_for_the_worker() -> None:
    commands = {parse_command(read_unit(u)["Service"]["ExecStart"]).command for u in UNITS}
    assert commands == {"serve", "worker"}


@pytest.mark.parametrize("path", UNITS, ids=[u.name for u in UNITS])
def test_a_unit_stops_the_bot_gracefully_and_keeps_its_settings_apart(path: Path) -> None:
    unit = read_unit(path)
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    args = parse_command(service["ExecStart"])
    assert Path(service["EnvironmentFile"]).is_absolute()
    assert service["KillSignal"] == "SIGTERM"
    # SIGTERM to our main process only: it stops its own children in order
    assert service["KillMode"] == "mixed"
    # what the bot may take to stop, and systemd must wait for before SIGKILL
    if args.command == "serve":
        bound = DRAIN_S + (WORKER_CHILD_STOP_S if args.worker else 0)
        assert args.http, "a unit has no terminal for Socket Mode's choice; say --http"
    else:
        bound = CELERY_STOP_S
    assert seconds(service["TimeoutStopSec"]) > bound
    # a bad setting will not fix itself: no restart loop on it
    assert service["Restart"] == "on-failure"
    assert str(EXIT_SETTINGS) in service["RestartPreventExitStatus"].split()
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_procfile_runs_real_commands() -> None:
    processes = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name] = parse_command(command.replace("$PORT", "5000"))
    assert set(processes) == {"web", "worker"}
    assert processes["web"].command == "serve" and processes["web"].port == 5000
    assert processes["web"].worker is False  # the platform runs the worker process itself
    assert processes["worker"].command == "worker"


def test_seconds_reads_systemd_time_spans() -> None:
    assert seconds("40") == 40 and seconds("20s") == 20 and seconds("1min 30s") == 90
