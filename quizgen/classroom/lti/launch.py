"""LTI 1.3 login and launch (IMS Security Framework 1.0, LTI Core 1.3, Deep Linking 2.0).

Login (third-party initiated OIDC): the LMS sends the browser to ``/lti/login``; quizgen
answers with a redirect to the LMS's auth URL carrying a fresh ``nonce`` and a ``state``.
Nothing is written: the state is a token only quizgen can make (HS256 with the tool's
secret) holding the nonce, the platform and the hash of a random value set as a
cookie in the same response, so the launch can be tied to the browser that logged in.

Binding the state to the browser inside an LMS iframe, where third-party cookies may be
blocked: the cookie is ``SameSite=None; Secure; Partitioned`` over HTTPS (CHIPS: a
cookie kept per top-level site, which Chromium-based browsers and Firefox send inside
the iframe even when they block third-party cookies). Where it still does not come
back (a browser that blocks it anyway), the launch is not accepted: the page offers to
open quizgen in a new window, which starts the login again as a first-party page, the
fallback LTI platforms themselves use (Canvas's "open in a new tab"). LTI's client-side
postMessage storage would keep the state in the LMS's window instead, but needs
scripts, and quizgen's pages run none.

Launch: every check the specifications require, before anything is written: the state
(sealed by quizgen, unexpired, bound to this browser), the id_token's RS256 signature
against the platform's JWKS (refetched once for an unknown ``kid``), ``iss``, ``aud``
(and ``azp`` when there are several audiences or it is given), ``exp``/``iat`` with a
minute's leeway, the nonce (the one the state holds, and never used before: stored in
the database, so a replay is refused on every worker and host), a known deployment,
the message type and version 1.3.0. Then one transaction writes the nonce, the LMS
user, the course's gradebook column and the student's queued score.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import jwt
from sqlalchemy import delete, func, select

from ...clock import now
from ...errors import QuizgenError, clip
from ...grading.batch import lock_grading
from ...grading.passback import queue_students, upsert
from ...ids import parse_quiz_id
from ...store.db import Store
from ...store.tables import LtiLineItem, LtiNonce, LtiUser, Question, Quiz, Student, Variant
from .keys import ToolKeys
from .platform_keys import PlatformKeys
from .platforms import Platform, check_url, find_platform, get_platform, origins_of
from .refusals import LaunchRefused

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
INSTRUCTOR_ROLES = frozenset({
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
    "Instructor",  # the short form LTI 1.3 allows for context roles
})
LEEWAY_S = 60  # clock difference tolerated on exp and iat
STATE_S = 600  # a login must reach the launch within this
COOKIE_PREFIX = "qz_lti_"


# ---------------------------------------------------------------- login

@dataclass(frozen=True)
class LoginRedirect:
    """Where to send the browser, and the cookie that binds the state to it."""

    url: str
    cookie_name: str
    cookie_value: str
    max_age: int


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def begin_login(store: Store, keys: ToolKeys, params: Mapping[str, str], launch_url: str) -> LoginRedirect:
    """The redirect to the platform's auth URL for a login-initiation request (GET query or
    POST form); LaunchRefused for an unknown platform or deployment. Writes nothing."""
    issuer, hint = params.get("iss", "").strip(), params.get("login_hint", "")
    if not issuer or not hint or not params.get("target_link_uri"):
        raise LaunchRefused("bad_login", "the login request lacks iss, login_hint or target_link_uri")
    with store.read() as session:
        platform = find_platform(session, issuer, params.get("client_id") or None)
    if platform is None:
        raise LaunchRefused("unknown_platform", f"no registered platform has issuer {clip(issuer, 80)} "
                            f"and client id {clip(params.get('client_id') or '(any)', 60)}")
    deployment = params.get("lti_deployment_id")
    if deployment and deployment not in platform.deployments:
        raise LaunchRefused("unknown_deployment", f"deployment {clip(deployment, 60)} is not registered for "
                            f"{platform.name}")
    nonce, binding, sid = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(9)
    relogin = {k: params[k] for k in ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id",
                                      "lti_deployment_id") if params.get(k)}
    state = keys.seal({"aud": "lti-state", "exp": now() + timedelta(seconds=STATE_S), "pid": platform.id,
                       "nonce": nonce, "sid": sid, "bh": _digest(binding), "login": relogin})
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
             "client_id": platform.client_id, "redirect_uri": launch_url, "login_hint": hint, "state": state,
             "nonce": nonce}
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    sep = "&" if "?" in platform.auth_url else "?"
    return LoginRedirect(platform.auth_url + sep + urlencode(query), COOKIE_PREFIX + sid, binding, STATE_S)


# ---------------------------------------------------------------- launch

@dataclass(frozen=True)
class NeedsWindow:
    """The browser did not send the login's cookie back (blocked inside the LMS's frame):
    start the login again in a window of its own, at ``relogin`` (the login URL's query)."""

    platform: Platform
    relogin: str
    frames: tuple[str, ...]  # the origins that may frame the page (frame-ancestors)


@dataclass(frozen=True)
class StudentLaunch:
    platform: Platform
    student: str  # the roster id
    quiz_id: int
    credential: str
    frames: tuple[str, ...]


@dataclass(frozen=True)
class Unmatched:
    """An LMS user quizgen cannot place on the roster (listed by ``quizgen lti unmatched``)."""

    platform: Platform
    name: str | None
    quiz_id: int
    lang: str | None  # the LMS user's language, when quizgen has words in it
    frames: tuple[str, ...]


@dataclass(frozen=True)
class InstructorLaunch:
    platform: Platform
    quiz_id: int
    context_id: str
    frames: tuple[str, ...]


@dataclass(frozen=True)
class DeepLinkLaunch:
    platform: Platform
    credential: str  # seals the return URL, data and deployment for the choice that follows
    quizzes: list[tuple[int, str, int]]  # id, title, points
    lang: str | None  # the instructor's language, when quizgen has words in it
    frames: tuple[str, ...]


Launch = NeedsWindow | StudentLaunch | Unmatched | InstructorLaunch | DeepLinkLaunch


def _verify_id_token(token: str, platform: Platform, platform_keys: PlatformKeys) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise LaunchRefused("bad_token", "the id_token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise LaunchRefused("bad_token", f"the id_token is signed with {clip(str(header.get('alg')), 20)}, not RS256")
    key = platform_keys.key(platform.jwks_url, header.get("kid"))
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=platform.client_id, issuer=platform.issuer,
                            leeway=LEEWAY_S, options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]})
    except jwt.InvalidSignatureError:
        raise LaunchRefused("bad_signature", "the id_token's signature does not verify") from None
    except jwt.ExpiredSignatureError:
        raise LaunchRefused("expired", "the id_token has expired") from None
    except jwt.InvalidAudienceError:
        raise LaunchRefused("wrong_audience", f"the id_token is not for client {clip(platform.client_id, 60)}") \
            from None
    except jwt.InvalidIssuerError:
        raise LaunchRefused("wrong_issuer", f"the id_token is not from {clip(platform.issuer, 80)}") from None
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError):
        raise LaunchRefused("expired", "the id_token's iat is in the future or invalid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise LaunchRefused("bad_token", f"the id_token has no {exc.claim} claim") from None
    except jwt.InvalidTokenError as exc:
        raise LaunchRefused("bad_token", f"the id_token cannot be read: {clip(str(exc), 80)}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != platform.client_id):
        raise LaunchRefused("wrong_audience", "the id_token's azp is not this tool's client id")
    return claims


def _obj(claims: dict[str, Any], name: str) -> dict[str, Any]:
    """A claim that must be a JSON object, or {} when it is absent or is not one."""
    value = claims.get(name)
    return value if isinstance(value, dict) else {}


def frame_origins(platform: Platform, claims: dict[str, Any]) -> tuple[str, ...]:
    """Where the LMS shows quizgen's pages: its issuer's and login's origins, and the ones the
    signed launch names (its return URL's, its tool_platform URL's): a Canvas course lives
    at the school's own host, not at the issuer canvas.instructure.com."""
    return origins_of([platform.issuer, platform.auth_url, _obj(claims, LTI + "launch_presentation").get("return_url"),
                       _obj(claims, LTI + "tool_platform").get("url")])


def locale(claims: dict[str, Any]) -> str | None:
    """ko or en from the launch's ``locale`` claim (BCP 47, e.g. ko-KR), or None."""
    value = claims.get("locale")
    primary = value.split("-")[0].split("_")[0].lower() if isinstance(value, str) else ""
    return primary if primary in ("ko", "en") else None


def _relogin(state: dict[str, Any]) -> str:
    return urlencode(state.get("login") or {})


def launch(store: Store, keys: ToolKeys, platform_keys: PlatformKeys, form: Mapping[str, str],
           cookies: Mapping[str, str]) -> Launch:
    """Check a launch (see the module doc) and record it; LaunchRefused with nothing written
    when any check fails."""
    if form.get("error"):
        raise LaunchRefused("platform_error", f"the platform answered {clip(form['error'], 40)}: "
                            f"{clip(form.get('error_description', ''), 120)}")
    token, state_text = form.get("id_token", ""), form.get("state", "")
    if not token or not state_text:
        raise LaunchRefused("bad_state", "the launch has no id_token or no state")
    try:
        state = keys.unseal(state_text, "lti-state")
    except jwt.InvalidTokenError:
        raise LaunchRefused("bad_state", "the state was not made by this tool, or the login is too old") from None
    with store.read() as session:
        platform = get_platform(session, state["pid"])
    binding = cookies.get(COOKIE_PREFIX + str(state.get("sid")))
    if binding is None:
        return NeedsWindow(platform, _relogin(state), platform.origins)
    if not hmac.compare_digest(_digest(binding), str(state.get("bh"))):
        raise LaunchRefused("bad_state", "the state belongs to another browser's login")
    claims = _verify_id_token(token, platform, platform_keys)
    if not hmac.compare_digest(str(claims["nonce"]), str(state["nonce"])):
        raise LaunchRefused("bad_nonce", "the id_token's nonce is not the one this login sent")
    deployment = claims.get(LTI + "deployment_id")
    if deployment not in platform.deployments:
        raise LaunchRefused("unknown_deployment", f"deployment {clip(str(deployment), 60)} is not registered for "
                            f"{platform.name}")
    if claims.get(LTI + "version") != "1.3.0":
        raise LaunchRefused("bad_version", f"LTI version {clip(str(claims.get(LTI + 'version')), 20)} is not 1.3.0")
    kind = claims.get(LTI + "message_type")
    roles = claims.get(LTI + "roles") or []
    instructor = isinstance(roles, list) and any(r in INSTRUCTOR_ROLES for r in roles)
    frames = frame_origins(platform, claims)
    if kind == DEEP_LINKING:
        return _deep_linking(store, keys, platform, claims, instructor, frames)
    if kind != RESOURCE_LINK:
        raise LaunchRefused("bad_message_type", f"message type {clip(str(kind), 40)} is not one quizgen handles")
    if not _obj(claims, LTI + "resource_link").get("id"):
        raise LaunchRefused("bad_token", "the launch has no resource link id")
    if claims.get(LTI + "target_link_uri") is None:
        raise LaunchRefused("bad_token", "the launch has no target_link_uri")
    quiz_id = _quiz_of(store, claims)
    context = _obj(claims, LTI + "context")
    # The context claim is optional (LTI Core 5.4.1): without it, the link itself is the "course"
    # its gradebook column belongs to (lti1p3platform launches so unless told otherwise).
    context_id = str(context["id"]) if context.get("id") else "link:" + str(_obj(claims, LTI + "resource_link")["id"])
    stamp = now()
    with store.write() as session:
        lock_grading(session, quiz_id)  # the queued score below is written as grading writes it
        _use_nonce(session, platform, str(claims["nonce"]), int(claims["exp"]))
        _record_column(session, platform, context_id, quiz_id, claims, stamp)
        if instructor:
            return InstructorLaunch(platform, quiz_id, context_id, frames)
        student, newly = _identify(session, platform, claims, stamp)
        if student is None:
            return Unmatched(platform, claims.get("name"), quiz_id, locale(claims), frames)
        if newly:  # graded before quizgen knew their LMS account: their score is queued now
            queue_students(session.connection(), quiz_id, [student.id], stamp)
        external = student.external_id
    return StudentLaunch(platform, external, quiz_id, seal_student(keys, external, quiz_id, platform.id, frames),
                         frames)


def _quiz_of(store: Store, claims: dict[str, Any]) -> int:
    custom = _obj(claims, LTI + "custom")
    try:
        quiz_id = parse_quiz_id(str(custom.get("quiz", "")))
    except QuizgenError:
        raise LaunchRefused("no_quiz", "the link has no custom parameter quiz=N (add it through deep linking)") \
            from None
    with store.read() as session:
        if session.get(Quiz, quiz_id) is None:
            raise LaunchRefused("no_quiz", f"the link names quiz {quiz_id}, which this server does not have")
    return quiz_id


def _use_nonce(session: Any, platform: Platform, nonce: str, exp: int) -> None:
    """Record the nonce as used; LaunchRefused (the transaction rolls back) if it was."""
    stamp = now()
    session.execute(delete(LtiNonce).where(LtiNonce.expires_at < stamp - timedelta(seconds=LEEWAY_S)))
    expires = datetime.fromtimestamp(exp, UTC) + timedelta(seconds=LEEWAY_S)
    inserted = upsert(session.connection(), LtiNonce.__table__,
                      [{"platform_id": platform.id, "nonce": nonce[:128], "expires_at": expires}],
                      ("platform_id", "nonce"))
    if inserted != 1:  # it was there: this launch was made before (on this or another worker)
        raise LaunchRefused("replayed", "this id_token was used for a launch already")


def _record_column(session: Any, platform: Platform, context_id: str, quiz_id: int, claims: dict[str, Any],
                   stamp: Any) -> None:
    """The course's gradebook column for the quiz: one row per (platform, course, quiz),
    its URLs as the LMS last gave them. quizgen never creates a column itself: the LMS
    made it from the deep-linking response (or the link's own settings)."""
    ags = _obj(claims, AGS_ENDPOINT)
    nrps = _obj(claims, NRPS_CLAIM)
    values = {"lineitem_url": _url(ags.get("lineitem")), "lineitems_url": _url(ags.get("lineitems")),
              "memberships_url": _url(nrps.get("context_memberships_url"))}
    known = [k for k, v in values.items() if v]  # a URL the LMS left out this time stays as it was
    upsert(session.connection(), LtiLineItem.__table__,
           [{"platform_id": platform.id, "context_id": context_id[:255], "quiz_id": quiz_id, "created_at": stamp,
             **values}], ("platform_id", "context_id", "quiz_id"), known)


def _url(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return check_url(value, "a service URL")
    except QuizgenError:
        return None


def _identify(session: Any, platform: Platform, claims: dict[str, Any], stamp: Any) -> tuple[Student | None, bool]:
    """The roster student this LMS user is, by the platform's rule, and whether the two were
    linked just now; the user is recorded either way (unmatched ones are listed by
    ``quizgen lti unmatched``)."""
    sub = str(claims["sub"])[:255]
    custom = _obj(claims, LTI + "custom")
    lis = _obj(claims, LTI + "lis")
    sourcedid = custom.get("student_id") or lis.get("person_sourcedid")
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    name = claims.get("name") if isinstance(claims.get("name"), str) else None
    known = session.scalar(select(LtiUser).where(LtiUser.platform_id == platform.id, LtiUser.sub == sub))
    student = session.get(Student, known.student_id) if known is not None and known.student_id else None
    if student is None:
        student = match_student(session, platform.match, sub, str(sourcedid) if sourcedid else None, email)
    values = {"platform_id": platform.id, "sub": sub, "student_id": student.id if student else None,
              "name": clip(name, 200) if name else None, "email": email[:254] if email else None,
              "sourcedid": str(sourcedid)[:255] if sourcedid else None, "seen_at": stamp}
    upsert(session.connection(), LtiUser.__table__, [values], ("platform_id", "sub"),
           ("student_id", "name", "email", "sourcedid", "seen_at"))
    return student, student is not None and (known is None or known.student_id != student.id)


def match_student(session: Any, rule: str, sub: str, sourcedid: str | None, email: str | None) -> Student | None:
    """The roster student an LMS user is under ``rule``: their student id (the LMS's person
    sourcedid, or the custom parameter student_id), their e-mail (one student only), or
    only a link made before (``sub``: by ``quizgen lti roster``)."""
    if rule == "student-id" and sourcedid:
        return session.scalar(select(Student).where(Student.external_id == sourcedid))
    if rule == "email" and email:
        found = list(session.scalars(select(Student).where(func.lower(Student.email) == email.lower()).limit(2)))
        return found[0] if len(found) == 1 else None
    return None


# ---------------------------------------------------------------- credentials and deep linking

STUDENT_S = 3 * 3600  # a student's credential: long enough to work through a quiz, renewed on every page
DEEP_LINK_S = 3600


def seal_student(keys: ToolKeys, student: str, quiz_id: int, platform_id: int, frames: tuple[str, ...]) -> str:
    return keys.seal({"aud": "lti-student", "sub": student, "quiz": quiz_id, "pid": platform_id, "fr": list(frames),
                      "exp": now() + timedelta(seconds=STUDENT_S)})


@dataclass(frozen=True)
class StudentPass:
    student: str
    quiz_id: int
    platform: Platform
    frames: tuple[str, ...]


def open_student(store: Store, keys: ToolKeys, credential: str) -> StudentPass:
    """Who a student credential (made at launch) stands for; AuthError-like LaunchRefused
    when it is not quizgen's, has expired, or its platform is gone."""
    try:
        claims = keys.unseal(credential, "lti-student")
    except jwt.InvalidTokenError:
        raise LaunchRefused("credential", "the page's credential is not valid any more; open the quiz from the "
                            "LMS again") from None
    with store.read() as session:
        platform = get_platform(session, int(claims["pid"]))
    return StudentPass(str(claims["sub"]), int(claims["quiz"]), platform, origins_of(claims.get("fr") or []))


def _deep_linking(store: Store, keys: ToolKeys, platform: Platform, claims: dict[str, Any],
                  instructor: bool, frames: tuple[str, ...]) -> DeepLinkLaunch:
    if not instructor:
        raise LaunchRefused("deep_linking_student", "only an instructor may add quizgen content to a course")
    settings = _obj(claims, DL_SETTINGS)
    try:
        return_url = check_url(str(settings.get("deep_link_return_url", "")), "deep_link_return_url")
    except QuizgenError:
        raise LaunchRefused("bad_token", "the deep-linking request has no usable deep_link_return_url") from None
    with store.write() as session:
        _use_nonce(session, platform, str(claims["nonce"]), int(claims["exp"]))
        quizzes = _quizzes(session)
    credential = keys.seal({"aud": "lti-deep-link", "pid": platform.id, "sub": str(claims["sub"]),
                            "dep": claims[LTI + "deployment_id"], "ret": return_url, "data": settings.get("data"),
                            "fr": list(frames), "exp": now() + timedelta(seconds=DEEP_LINK_S)})
    return DeepLinkLaunch(platform, credential, quizzes, locale(claims), frames)


def _quizzes(session: Any) -> list[tuple[int, str, int]]:
    points = _points(session)
    return [(r.id, r.title, int(points.get(r.id, 0))) for r in session.execute(select(Quiz.id, Quiz.title)
                                                                               .order_by(Quiz.id))]


def _points(session: Any) -> dict[int, int]:
    """quiz → its points (the largest variant's total; every variant of a quiz has the same)."""
    totals = (select(Variant.quiz_id.label("quiz_id"), func.sum(Question.points).label("total"))
              .join(Question, Question.variant_id == Variant.id).group_by(Variant.id).subquery())
    return dict(session.execute(select(totals.c.quiz_id, func.max(totals.c.total)).group_by(totals.c.quiz_id)).all())


@dataclass(frozen=True)
class DeepLinkResponse:
    platform: Platform
    return_url: str
    jwt: str
    title: str
    frames: tuple[str, ...]


def deep_link_response(store: Store, keys: ToolKeys, credential: str, quiz: str, launch_url: str) -> DeepLinkResponse:
    """The signed LtiDeepLinkingResponse that adds ``quiz`` to the course: an LtiResourceLink
    to the launch URL (custom quiz=N) with a line item (the quiz's points, its title, the
    quiz as resourceId), so the LMS creates the gradebook column once, with the link."""
    try:
        sealed = keys.unseal(credential, "lti-deep-link")
    except jwt.InvalidTokenError:
        raise LaunchRefused("deep_linking_student", "this page was not opened by an instructor's deep-linking "
                            "launch (or it is over an hour old)") from None
    quiz_id = parse_quiz_id(quiz)
    with store.read() as session:
        platform = get_platform(session, int(sealed["pid"]))
        row = session.get(Quiz, quiz_id)
        if row is None:
            raise LaunchRefused("no_quiz", f"there is no quiz {quiz_id}")
        points = _points(session).get(quiz_id, 0)
        title = row.title
    stamp = now()
    item = {"type": "ltiResourceLink", "title": title, "url": launch_url, "custom": {"quiz": str(quiz_id)},
            "lineItem": {"scoreMaximum": points, "label": title, "resourceId": f"quizgen-quiz-{quiz_id}",
                         "tag": "quizgen"}}
    claims: dict[str, Any] = {
        "iss": platform.client_id, "aud": platform.issuer, "iat": stamp, "exp": stamp + timedelta(minutes=10),
        "nonce": secrets.token_urlsafe(16), LTI + "deployment_id": sealed["dep"],
        LTI + "message_type": "LtiDeepLinkingResponse", LTI + "version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [item]}
    if sealed.get("data") is not None:
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = sealed["data"]
    return DeepLinkResponse(platform, sealed["ret"], keys.sign(claims), title, origins_of(sealed.get("fr") or []))
