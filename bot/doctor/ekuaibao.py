"""Ekuaibao checks: the credentials (a fresh getAccessToken) and the tenant's platform host."""

from __future__ import annotations

import httpx

from bot.doctor.checks import Check, fail, ok, public_url, same_origin, skip, warn
from tasks.ekuaibao.client import Credentials, EkuaibaoClient
from tasks.ekuaibao.errors import BadRequest, CredentialsRejected, EkuaibaoError
from tasks.ekuaibao.tokens import MemoryTokenStore
from tasks.runtime import USER_AGENT
from tasks.settings import EKUAIBAO, Settings

CREDENTIALS = "Ekuaibao credentials"
PLATFORM = "Ekuaibao platform"
_HOSTS = (
    "standalone https://app.ekuaibao.com, DingTalk https://dd2.hosecloud.com, "
    "WeCom https://wx2.ekuaibao.com, Feishu https://feishu.ekuaibao.com"
)


def ekuaibao_checks(settings: Settings) -> list[Check]:
    missing = [field.upper() for field in EKUAIBAO if getattr(settings, field) is None]
    if missing or settings.ekuaibao_app_key is None or settings.ekuaibao_app_security is None:
        return [
            fail(
                CREDENTIALS,
                f"{' and '.join(missing)} not set — get them in 合思+ → 开放接口(新) → 商品配置",
            ),
            skip(PLATFORM, "needs the credentials"),
        ]
    base = public_url(settings.ekuaibao_base_url)
    timeout = httpx.Timeout(
        settings.ekuaibao_timeout_s, connect=min(5.0, settings.ekuaibao_timeout_s)
    )
    credentials = Credentials(
        settings.ekuaibao_app_key.get_secret_value(),
        settings.ekuaibao_app_security.get_secret_value(),
    )
    with httpx.Client(
        base_url=settings.ekuaibao_base_url, timeout=timeout, headers={"User-Agent": USER_AGENT}
    ) as http:
        # Its own token store: the check must prove the credentials, not a cached token.
        client = EkuaibaoClient(http, credentials, MemoryTokenStore())
        tenant = _tenant(client, base)
        if isinstance(tenant, list):
            return tenant
        from bot.doctor.approvals import approvals_check

        checks = [
            ok(CREDENTIALS, f"accepted by {base} (tenant {tenant})"),
            approvals_check(settings, client),
        ]
        try:
            platform = client.platform_url(tenant)
        except EkuaibaoError as exc:
            checks.append(
                warn(PLATFORM, f"could not ask Ekuaibao which host is the tenant's ({exc})")
            )
            return checks
    if same_origin(platform, settings.ekuaibao_base_url):
        checks.append(ok(PLATFORM, f"{base} is the tenant's platform host"))
    else:
        checks.append(
            fail(
                PLATFORM,
                f"the tenant lives on {public_url(platform)}, not {base} — set "
                f"EKUAIBAO_BASE_URL={public_url(platform)}",
            )
        )
    return checks


def _tenant(client: EkuaibaoClient, base: str) -> str | list[Check]:
    """The tenant id the credentials belong to, or the failed checks saying why not."""
    try:
        return client.tenant_id()
    except CredentialsRejected:
        return [
            fail(
                CREDENTIALS,
                f"{base} refused EKUAIBAO_APP_KEY/EKUAIBAO_APP_SECURITY (403) — check both "
                "(合思+ → 开放接口(新) → 商品配置) and that EKUAIBAO_BASE_URL is your "
                f"platform's host ({_HOSTS}, …)",
            ),
            skip(PLATFORM, "needs accepted credentials"),
        ]
    except BadRequest as exc:
        return [
            fail(
                CREDENTIALS,
                f"{base} answered HTTP {exc.status} to getAccessToken — is EKUAIBAO_BASE_URL "
                f"an Ekuaibao host? ({_HOSTS}, …)",
            ),
            skip(PLATFORM, "needs accepted credentials"),
        ]
    except EkuaibaoError as exc:
        return [
            fail(CREDENTIALS, f"{exc} at {base} — check EKUAIBAO_BASE_URL and the network"),
            skip(PLATFORM, "needs accepted credentials"),
        ]
