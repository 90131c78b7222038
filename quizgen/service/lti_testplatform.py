"""A DEMO AND TEST PEER, NOT PART OF THE TOOL: a small LMS platform speaking LTI 1.3 to
quizgen, for ``make demo`` and the test suite (which ships outside the package). Never
point real students at it: it trusts whoever opens its pages, keeps everything in
memory and listens on 127.0.0.1 only.

It plays every part of an LMS that quizgen talks to: its own RSA keys and JWKS, course
pages that frame quizgen and start the OIDC login, an auth endpoint that answers the
login redirect by posting a signed id_token to the launch URL, a token endpoint that
checks the tool's client assertion against quizgen's JWKS, line items and a score
endpoint that record what they receive (with injected failures for tests), NRPS
membership in pages (``Link: rel="next"``), and the deep-linking return that makes a
line item from the tool's content item. Signatures are PyJWT's.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jwt.algorithms import RSAAlgorithm

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
CONTEXT = "course-101"


@dataclass
class User:
    sub: str
    name: str
    email: str | None
    sourcedid: str | None
    roles: list[str]


@dataclass
class LineItem:
    id: int
    label: str
    score_maximum: float
    resource_id: str | None
    tag: str | None
    resource_link_id: str | None


@dataclass
class Link:
    id: str
    title: str
    custom: dict[str, str]
    line_item: int | None


@dataclass
class Signer:
    kid: str
    private: Any
    jwk: dict[str, Any]


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The first form of a page: its action and its hidden fields (what a browser would post)."""
    action = html.unescape(re.search(r'<form [^>]*action="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    fields = {m.group(1): html.unescape(m.group(2))
              for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}
    return action, fields


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (without python-multipart, which quizgen does not need)."""
    from urllib.parse import parse_qsl

    return dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))


def _signer() -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "platform-" + secrets.token_hex(4)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return Signer(kid, key, jwk)


@dataclass
class TestPlatform:
    """One LMS with one course; ``serve()`` starts it on 127.0.0.1."""

    __test__ = False  # a peer for tests, not a test class

    tool_url: str = ""  # quizgen serve's base URL, set before launching
    client_id: str = "quizgen-test-client"
    deployment_id: str = "deployment-1"
    page_size: int = 2  # NRPS members per page: small, so paging is exercised
    url: str = ""
    users: dict[str, User] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    line_items: dict[int, LineItem] = field(default_factory=dict)
    scores: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line item id, body) as received
    token_requests: list[dict[str, Any]] = field(default_factory=list)  # client assertions' claims, checked
    fail_scores: list[int] = field(default_factory=list)  # statuses the next score posts get, in turn
    deep_link_responses: list[dict[str, Any]] = field(default_factory=list)
    published: list[Signer] = field(default_factory=list)
    jwks_fetches: int = 0
    tool_jwks: dict[str, Any] | None = None  # the tool's key set, when it is not served (in-process tests)
    member_pages: int = 0
    signing: Signer = field(default_factory=_signer)
    _tokens: dict[str, float] = field(default_factory=dict)
    _server: Any = None
    _thread: Any = None

    def __post_init__(self) -> None:
        self.published.append(self.signing)
        self._lock = threading.Lock()
        self.app = self._make_app()

    # ------------------------------------------------------------ set-up

    @property
    def issuer(self) -> str:
        return self.url

    def add_platform_args(self, match: str = "student-id", name: str = "test-lms") -> list[str]:
        """``quizgen lti add-platform`` arguments that register this platform."""
        return ["lti", "add-platform", "--name", name, "--issuer", self.issuer, "--client-id", self.client_id,
                "--deployment-id", self.deployment_id, "--auth-url", f"{self.url}/auth",
                "--token-url", f"{self.url}/token", "--jwks-url", f"{self.url}/jwks", "--match", match]

    def add_user(self, sub: str, name: str, email: str | None = None, sourcedid: str | None = None,
                 instructor: bool = False) -> User:
        user = User(sub, name, email, sourcedid, [INSTRUCTOR if instructor else LEARNER])
        self.users[sub] = user
        return user

    def add_link(self, link_id: str, title: str, quiz: int | None, score_maximum: float | None = None) -> Link:
        """A resource link (made by hand in the LMS); with ``score_maximum``, with its own line item."""
        item = None
        if score_maximum is not None:
            item = self._new_line_item(title, score_maximum, f"quizgen-quiz-{quiz}", None, link_id)
        link = Link(link_id, title, {"quiz": str(quiz)} if quiz is not None else {}, item)
        self.links[link_id] = link
        return link

    def _new_line_item(self, label: str, maximum: float, resource_id: str | None, tag: str | None,
                       link_id: str | None) -> int:
        with self._lock:
            number = len(self.line_items) + 1
            self.line_items[number] = LineItem(number, label, maximum, resource_id, tag, link_id)
        return number

    def rotate_key(self, publish_new: bool = True) -> Signer:
        """Sign with a new key from now on (published in the JWKS unless ``publish_new`` is False)."""
        self.signing = _signer()
        if publish_new:
            self.published.append(self.signing)
        return self.signing

    def gradebook(self) -> dict[int, dict[str, dict[str, Any]]]:
        """line item → user → the score the LMS holds (the latest by timestamp, as an LMS keeps it)."""
        out: dict[int, dict[str, dict[str, Any]]] = {}
        for item, body in self.scores:
            held = out.setdefault(item, {}).get(body["userId"])
            if held is None or body["timestamp"] >= held["timestamp"]:
                out[item][body["userId"]] = body
        return out

    # ------------------------------------------------------------ messages

    def login_url(self, user: str, hint: str) -> str:
        """The tool's login-initiation URL the LMS sends a browser to (third-party initiated)."""
        return f"{self.tool_url}/lti/login?" + urlencode({
            "iss": self.issuer, "login_hint": user, "target_link_uri": f"{self.tool_url}/lti/launch",
            "lti_message_hint": hint, "client_id": self.client_id, "lti_deployment_id": self.deployment_id})

    def claims(self, user: str, hint: str, nonce: str) -> dict[str, Any]:
        """The id_token claims for ``user`` launching ``hint`` (a link id, or "deep-link")."""
        u = self.users[user]
        stamp = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.client_id, "azp": self.client_id, "sub": u.sub, "exp": stamp + 300,
            "iat": stamp, "nonce": nonce, "name": u.name, LTI + "deployment_id": self.deployment_id,
            LTI + "version": "1.3.0", LTI + "roles": u.roles, LTI + "target_link_uri": f"{self.tool_url}/lti/launch",
            LTI + "context": {"id": CONTEXT, "label": "DL101", "title": "Deep Learning 101"},
            "locale": "ko-KR",
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{self.url}/contexts/{CONTEXT}/memberships", "service_versions": ["2.0"]}}
        if u.email:
            claims["email"] = u.email
        if u.sourcedid:
            claims[LTI + "lis"] = {"person_sourcedid": u.sourcedid}
        if hint == "deep-link":
            claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "deep_link_return_url": f"{self.url}/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"], "accept_lineitem": True,
                "accept_multiple": False, "data": "opaque-" + secrets.token_hex(4)}
            return claims
        link = self.links[hint]
        claims[LTI + "message_type"] = "LtiResourceLinkRequest"
        claims[LTI + "resource_link"] = {"id": link.id, "title": link.title}
        claims[LTI + "custom"] = dict(link.custom)
        ags: dict[str, Any] = {"scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                                         "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
                               "lineitems": f"{self.url}/contexts/{CONTEXT}/lineitems"}
        if link.line_item is not None:
            ags["lineitem"] = f"{self.url}/contexts/{CONTEXT}/lineitems/{link.line_item}"
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = ags
        return claims

    def sign(self, claims: dict[str, Any], signer: Signer | None = None) -> str:
        signer = signer or self.signing
        return jwt.encode(claims, signer.private, algorithm="RS256", headers={"kid": signer.kid})

    def _tool_key(self, token: str) -> Any:
        if self.tool_jwks is not None:
            kid = jwt.get_unverified_header(token).get("kid")
            return next(k.key for k in jwt.PyJWKSet.from_dict(self.tool_jwks).keys if k.key_id == kid)
        client = jwt.PyJWKClient(f"{self.tool_url}/lti/jwks.json", cache_keys=False, cache_jwk_set=False)
        return client.get_signing_key_from_jwt(token).key

    def _check_bearer(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        return bool(token) and self._tokens.get(token, 0) > time.time()

    # ------------------------------------------------------------ the app

    def _make_app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/favicon.ico")
        def favicon() -> Response:
            return Response(status_code=204)

        @app.get("/jwks")
        def jwks() -> JSONResponse:
            self.jwks_fetches += 1
            return JSONResponse({"keys": [s.jwk for s in self.published]})

        @app.get("/course/{link_id}", response_class=HTMLResponse)
        def course(link_id: str, user: str) -> HTMLResponse:
            src = html.escape(self.login_url(user, link_id))
            return HTMLResponse(f"<!doctype html><title>Deep Learning 101</title><h1>Deep Learning 101 — LMS</h1>"
                                f'<iframe id="tool" name="tool" src="{src}" width="1000" height="1400"></iframe>')

        @app.api_route("/auth", methods=["GET", "POST"], response_class=HTMLResponse)
        async def auth(request: Request) -> HTMLResponse:
            params = dict(request.query_params)
            if request.method == "POST":
                params.update(await _form(request))
            redirect = params.get("redirect_uri", "")
            problems = []
            if params.get("client_id") != self.client_id:
                problems.append("client_id")
            if redirect != f"{self.tool_url}/lti/launch":
                problems.append("redirect_uri")
            if (params.get("response_type"), params.get("scope"), params.get("response_mode"),
                    params.get("prompt")) != ("id_token", "openid", "form_post", "none"):
                problems.append("response_type/scope/response_mode/prompt")
            if params.get("login_hint") not in self.users or not params.get("nonce") or not params.get("state"):
                problems.append("login_hint/nonce/state")
            if problems:
                return HTMLResponse(f"bad authentication request: {', '.join(problems)}", status_code=400)
            token = self.sign(self.claims(params["login_hint"], params.get("lti_message_hint", ""), params["nonce"]))
            fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                             for k, v in (("id_token", token), ("state", params["state"])))
            return HTMLResponse(f'<!doctype html><form method="post" action="{html.escape(redirect)}">{fields}'
                                "</form><script>document.forms[0].submit()</script>")

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = await _form(request)
            if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != \
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            assertion = form.get("client_assertion", "")
            try:
                claims = jwt.decode(assertion, self._tool_key(assertion), algorithms=["RS256"],
                                    audience=f"{self.url}/token", issuer=self.client_id,
                                    options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]})
            except jwt.PyJWTError as exc:
                return JSONResponse({"error": "invalid_client", "error_description": str(exc)}, status_code=401)
            if claims["sub"] != self.client_id:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.token_requests.append(claims)
            value = secrets.token_urlsafe(24)
            self._tokens[value] = time.time() + 3600
            return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": 3600,
                                 "scope": form.get("scope", "")})

        @app.get("/contexts/{context}/lineitems")
        def list_items(context: str, request: Request, resource_id: str | None = None) -> Response:
            if not self._check_bearer(request):
                return Response(status_code=401)
            items = [i for i in self.line_items.values() if resource_id in (None, i.resource_id)]
            return JSONResponse([self._item_json(i) for i in items])

        @app.get("/contexts/{context}/lineitems/{item}")
        def get_item(context: str, item: int, request: Request) -> Response:
            if not self._check_bearer(request):
                return Response(status_code=401)
            return JSONResponse(self._item_json(self.line_items[item]))

        @app.post("/contexts/{context}/lineitems/{item}/scores")
        async def score(context: str, item: int, request: Request) -> Response:
            if not self._check_bearer(request):
                return Response(status_code=401)
            if request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
                return Response(status_code=415)
            if item not in self.line_items:
                return Response(status_code=404)
            with self._lock:
                failure = self.fail_scores.pop(0) if self.fail_scores else None
            if failure is not None:
                return Response(status_code=failure)
            body = json.loads(await request.body())
            with self._lock:
                self.scores.append((item, body))
            return Response(status_code=204)

        @app.get("/contexts/{context}/memberships")
        def memberships(context: str, request: Request, page: int = 0) -> Response:
            if not self._check_bearer(request):
                return Response(status_code=401)
            self.member_pages += 1
            people = sorted(self.users.values(), key=lambda u: u.sub)
            chunk = people[page * self.page_size:(page + 1) * self.page_size]
            members = [{"user_id": u.sub, "name": u.name, "email": u.email, "lis_person_sourcedid": u.sourcedid,
                        "roles": u.roles, "status": "Active"} for u in chunk]
            headers = {}
            if (page + 1) * self.page_size < len(people):
                headers["Link"] = f'<{self.url}/contexts/{context}/memberships?page={page + 1}>; rel="next"'
            return JSONResponse({"id": str(request.url), "context": {"id": context}, "members": members},
                                headers=headers, media_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")

        @app.post("/deep-link-return", response_class=HTMLResponse)
        async def deep_link_return(request: Request) -> HTMLResponse:
            form = await _form(request)
            token = form.get("JWT", "")
            try:
                claims = jwt.decode(token, self._tool_key(token), algorithms=["RS256"], audience=self.issuer,
                                    issuer=self.client_id, options={"require": ["exp", "iat", "nonce"]})
            except jwt.PyJWTError as exc:
                return HTMLResponse(f"refused: {html.escape(str(exc))}", status_code=400)
            if claims.get(LTI + "message_type") != "LtiDeepLinkingResponse" or \
                    claims.get(LTI + "deployment_id") != self.deployment_id:
                return HTMLResponse("refused: not a deep-linking response for this deployment", status_code=400)
            self.deep_link_responses.append(claims)
            added = []
            for item in claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", []):
                if item.get("type") != "ltiResourceLink":
                    continue
                link_id = f"link-{len(self.links) + 1}"
                line = item.get("lineItem")
                number = None
                if line:
                    number = self._new_line_item(line.get("label") or item.get("title", ""),
                                                 float(line["scoreMaximum"]), line.get("resourceId"),
                                                 line.get("tag"), link_id)
                self.links[link_id] = Link(link_id, item.get("title", ""), dict(item.get("custom") or {}), number)
                added.append(link_id)
            return HTMLResponse(f"<!doctype html><h1>Added {html.escape(', '.join(added))}</h1>")

        @app.get("/gradebook", response_class=HTMLResponse)
        def gradebook_page() -> HTMLResponse:
            rows = []
            for item, users in self.gradebook().items():
                label = self.line_items[item].label
                for user, body in users.items():
                    rows.append(f"<tr><td>{html.escape(label)}</td><td>{html.escape(user)}</td>"
                                f"<td>{body['scoreGiven']:g} / {body['scoreMaximum']:g}</td>"
                                f"<td>{html.escape(body['timestamp'])}</td></tr>")
            return HTMLResponse("<!doctype html><h1>Gradebook</h1><table>" + "".join(rows) + "</table>")

        return app

    def _item_json(self, item: LineItem) -> dict[str, Any]:
        return {"id": f"{self.url}/contexts/{CONTEXT}/lineitems/{item.id}", "label": item.label,
                "scoreMaximum": item.score_maximum, "resourceId": item.resource_id, "tag": item.tag,
                "resourceLinkId": item.resource_link_id}

    # ------------------------------------------------------------ a browser, for the demo

    def visit(self, client: Any, user: str, hint: str) -> Any:
        """What a browser does when ``user`` opens ``hint`` (a link id, or "deep-link") in the
        course: the tool's login initiation, this platform's auth answer, the auto-posted
        launch. ``client``: an httpx.Client that keeps cookies and follows no redirect."""
        login = client.get(self.login_url(user, hint))
        auth = client.get(login.headers["location"])
        action, fields = form_of(auth.text)
        return client.post(action, data=fields)

    def add_by_deep_linking(self, client: Any, user: str, quiz: int) -> str:
        """The instructor ``user`` adds ``quiz`` to the course through quizgen's deep-linking
        pages; returns the new link's id (its line item made from the tool's content item)."""
        chooser = self.visit(client, user, "deep-link")
        forms = [f for f in re.findall(r"<form .*?</form>", chooser.text, re.S) if f'value="{quiz}"' in f]
        action, fields = form_of(forms[0])
        confirm = client.post(f"{self.tool_url}/lti/{action}", data=fields)
        action, fields = form_of(confirm.text)
        client.post(action, data=fields)
        return next(reversed(self.links))

    # ------------------------------------------------------------ running

    def serve(self) -> TestPlatform:
        """Listen on 127.0.0.1 (a port the OS picks) in a background thread."""
        import socket

        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, log_config=None)  # leave logging be
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


def main() -> None:  # pragma: no cover - run by bench/bench_lti.py in a process of its own
    """``python -m quizgen.service.lti_testplatform [TOOL_JWKS.json]``: serve until stdin closes,
    printing the URL; with a key set file, the token endpoint checks assertions against it."""
    import sys

    platform = TestPlatform()
    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding="utf-8") as fh:
            platform.tool_jwks = json.load(fh)
    platform.serve()
    platform.add_link("link-1", "column 1", 1, score_maximum=10)  # line item 1, for the scores posted to it
    print(platform.url, flush=True)
    sys.stdin.read()
    platform.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
