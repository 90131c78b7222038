"""LMS platforms registered with quizgen (``quizgen lti add-platform``), and what the LMS
administrator pastes into the LMS (``quizgen lti config``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from ...clock import now
from ...errors import NotFoundError, QuizgenError, clip
from ...store.db import Store
from ...store.tables import LtiDeployment, LtiLineItem, LtiNonce, LtiPlatform, LtiScore, LtiUser

MATCH_RULES = ("student-id", "email", "sub")

# The services quizgen asks an LMS for (the tool's scopes)
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIP = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = (SCOPE_LINEITEM, SCOPE_SCORE, SCOPE_MEMBERSHIP)


class PlatformError(QuizgenError):
    """A platform registration that cannot be made as given."""


@dataclass(frozen=True)
class Platform:
    id: int
    name: str
    issuer: str
    client_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    match: str
    deployments: tuple[str, ...]

    @property
    def origins(self) -> tuple[str, ...]:
        """The web origins the LMS surely shows quizgen's pages from (its issuer's and its
        login's), for the pages' ``frame-ancestors``; a launch adds the ones it names."""
        return origins_of([self.issuer, self.auth_url])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "issuer": self.issuer, "client_id": self.client_id, "auth_url": self.auth_url,
                "token_url": self.token_url, "jwks_url": self.jwks_url, "match": self.match,
                "deployments": list(self.deployments)}


def origins_of(urls: Sequence[Any]) -> tuple[str, ...]:
    """The distinct http(s) origins of ``urls`` (anything else is left out), in order."""
    out: list[str] = []
    for url in urls:
        if not isinstance(url, str):
            continue
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("http", "https") and parts.netloc and origin not in out and \
                re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", parts.netloc):
            out.append(origin)
    return tuple(out)


def check_url(value: str, what: str) -> str:
    """An https URL (http only to this machine's loopback, for a test platform)."""
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if parts.scheme == "https" and host or parts.scheme == "http" and loopback:
        return value.strip()
    raise PlatformError(f"{what} must be an https:// URL (http:// only on this machine), not {clip(value, 80)!r}")


def _row(platform: LtiPlatform, deployments: Sequence[str]) -> Platform:
    return Platform(platform.id, platform.name, platform.issuer, platform.client_id, platform.auth_url,
                    platform.token_url, platform.jwks_url, platform.match, tuple(deployments))


def add_platform(store: Store, *, name: str, issuer: str, client_id: str, deployments: Sequence[str],
                 auth_url: str, token_url: str, jwks_url: str, match: str) -> Platform:
    """Register a platform (one name, one issuer and client id pair)."""
    if match not in MATCH_RULES:
        raise PlatformError(f"--match must be one of {', '.join(MATCH_RULES)}")
    if not name.strip() or len(name) > 100:
        raise PlatformError("--name must be 1 to 100 characters")
    if not client_id.strip() or len(client_id) > 255 or not deployments:
        raise PlatformError("give the client id and at least one deployment id the LMS shows")
    if any(not d.strip() or len(d) > 255 for d in deployments):
        raise PlatformError("a deployment id must be 1 to 255 characters")
    urls = {what: check_url(value, what) for what, value in
            (("--issuer", issuer), ("--auth-url", auth_url), ("--token-url", token_url), ("--jwks-url", jwks_url))}
    with store.write() as session:
        if session.scalar(select(LtiPlatform.id).where(LtiPlatform.name == name)) is not None:
            raise PlatformError(f"a platform named {name!r} is registered already ('quizgen lti platforms')")
        if session.scalar(select(LtiPlatform.name).where(LtiPlatform.issuer == urls["--issuer"],
                                                         LtiPlatform.client_id == client_id)) is not None:
            raise PlatformError(f"issuer {urls['--issuer']} with client id {client_id!r} is registered already")
        row = LtiPlatform(name=name, issuer=urls["--issuer"], client_id=client_id, auth_url=urls["--auth-url"],
                          token_url=urls["--token-url"], jwks_url=urls["--jwks-url"], match=match, created_at=now())
        session.add(row)
        session.flush()
        unique = list(dict.fromkeys(d.strip() for d in deployments))
        session.add_all([LtiDeployment(platform_id=row.id, deployment_id=d) for d in unique])
        return _row(row, unique)


def list_platforms(store: Store) -> list[Platform]:
    with store.read() as session:
        return [_row(p, _deployments(session, p.id))
                for p in session.scalars(select(LtiPlatform).order_by(LtiPlatform.name))]


def _deployments(session: Any, platform_id: int) -> list[str]:
    return list(session.scalars(select(LtiDeployment.deployment_id).where(LtiDeployment.platform_id == platform_id)
                                .order_by(LtiDeployment.id)))


def get_platform(session: Any, platform_id: int) -> Platform:
    row = session.get(LtiPlatform, platform_id)
    if row is None:
        raise NotFoundError("the LMS platform of this launch is no longer registered")
    return _row(row, _deployments(session, platform_id))


def find_platform(session: Any, issuer: str, client_id: str | None) -> Platform | None:
    """The platform with this issuer (and client id, when the LMS gives one: an issuer may
    have several registrations); None when there is none, or the issuer alone is ambiguous."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        query = query.where(LtiPlatform.client_id == client_id)
    rows = list(session.scalars(query.limit(2)))
    if len(rows) != 1:
        return None
    return _row(rows[0], _deployments(session, rows[0].id))


def remove_platform(store: Store, name: str) -> Platform:
    """Forget a platform with its deployments, nonces, users, columns and queued scores."""
    with store.write() as session:
        row = session.scalar(select(LtiPlatform).where(LtiPlatform.name == name))
        if row is None:
            raise NotFoundError(f"no platform named {name!r} ('quizgen lti platforms' lists them)")
        gone = _row(row, _deployments(session, row.id))
        items = select(LtiLineItem.id).where(LtiLineItem.platform_id == row.id)
        session.execute(delete(LtiScore).where(LtiScore.line_item_id.in_(items)))
        for table in (LtiLineItem, LtiUser, LtiNonce, LtiDeployment):
            session.execute(delete(table).where(table.platform_id == row.id))
        session.delete(row)
        return gone


# ---------------------------------------------------------------- what the LMS administrator pastes in

@dataclass(frozen=True)
class ToolConfig:
    login_url: str
    launch_url: str
    jwks_url: str
    deep_link_url: str
    canvas: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"login_url": self.login_url, "launch_url": self.launch_url, "jwks_url": self.jwks_url,
                "deep_linking_url": self.deep_link_url, "redirect_urls": [self.launch_url],
                "scopes": list(SCOPES), "custom_parameters": {"student_id": "$Person.sourcedId"},
                "canvas_developer_key": self.canvas}


def tool_config(base_url: str) -> ToolConfig:
    """The URLs of the tool served at ``base_url`` (as students reach it) and a Canvas
    developer key (LTI 1.3, "Paste JSON")."""
    base = check_url(base_url, "--url").rstrip("/")
    login, launch, jwks = f"{base}/lti/login", f"{base}/lti/launch", f"{base}/lti/jwks.json"
    placement = {"message_type": "LtiDeepLinkingRequest", "target_link_uri": launch}
    canvas = {
        "title": "quizgen", "description": "Neural-network parameter-count quizzes, graded on arrival",
        "oidc_initiation_url": login, "target_link_uri": launch, "public_jwk_url": jwks,
        "scopes": list(SCOPES), "custom_fields": {"student_id": "$Person.sourcedId"},
        "extensions": [{"platform": "canvas.instructure.com", "privacy_level": "public",
                        "settings": {"placements": [{"placement": "assignment_selection", **placement},
                                                    {"placement": "link_selection", **placement}]}}],
    }
    return ToolConfig(login, launch, jwks, launch, canvas)
