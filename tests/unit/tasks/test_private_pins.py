"""`tasks/lean_http.py` leans on parts of httpx and httpcore that are not public API. They
are pinned in pyproject.toml; these tests fail loudly the moment an install has other
versions, or the parts it uses are not there."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import httpcore
import httpx
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
PINNED = ("httpx", "httpcore")


def _requirements() -> dict[str, Requirement]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    found = {Requirement(d).name: Requirement(d) for d in dependencies}
    return {name: found[name] for name in PINNED}


def test_both_are_pinned_to_releases_we_checked() -> None:
    pins = _requirements()
    assert str(pins["httpcore"].specifier) == "==1.0.9"
    assert pins["httpx"].specifier.contains("0.28.1") and not pins["httpx"].specifier.contains(
        "0.30"
    )


def test_the_installed_versions_are_the_pinned_ones() -> None:
    for name, requirement in _requirements().items():
        installed = importlib.metadata.version(name)
        assert requirement.specifier.contains(installed), f"{name} {installed}: {requirement}"


def test_the_parts_lean_http_uses_are_there() -> None:
    assert callable(getattr(httpx.Client, "_transport_for_url", None))
    assert isinstance(getattr(httpx.HTTPTransport(), "_pool", None), httpcore.ConnectionPool)
    assert callable(getattr(httpcore.ConnectionPool, "_assign_requests_to_connections", None))
    pool = httpcore.ConnectionPool(max_connections=3, max_keepalive_connections=2)
    assert (pool._connections, pool._requests) == ([], [])
    assert (pool._max_connections, pool._max_keepalive_connections) == (3, 2)
