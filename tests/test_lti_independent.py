"""quizgen's LTI tool driven by a platform written by others: ``lti1p3platform`` (PyPI)
signs the launches and deep-linking requests with its own code, checks quizgen's
client assertion at its token endpoint and quizgen's deep-linking response with its own
validation, so the tests do not only agree with the test platform quizgen ships."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from .helpers import make_class, right_answers
from .lti_site import hidden
from .server import start_server

ltiplatform = pytest.importorskip("lti1p3platform.ltiplatform", reason="lti1p3platform is not installed "
                                  "(pip install quizgen[test])")
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract  # noqa: E402
from lti1p3platform.oidc_login import OIDCLoginAbstract  # noqa: E402
from lti1p3platform.registration import Registration  # noqa: E402

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def _pem_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class Conf(ltiplatform.LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self.settings = kwargs

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        s = self.settings
        return (Registration().set_iss(s["iss"]).set_client_id("independent-client").set_deployment_id("dep-1")
                .set_launch_url(f"{s['tool']}/lti/launch").set_deeplink_launch_url(f"{s['tool']}/lti/launch")
                .set_oidc_login_url(f"{s['tool']}/lti/login").set_platform_public_key(s["public"])
                .set_platform_private_key(s["private"]).set_tool_key_set_url(f"{s['tool']}/lti/jwks.json"))


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class Launch(LTIAdvantageMessageLaunchAbstract):
    def __init__(self, preflight: dict[str, str], conf: Conf):
        super().__init__(None, conf)  # type: ignore[arg-type]
        self.preflight = preflight

    def get_preflight_response(self) -> dict[str, str]:
        return self.preflight

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return launch_data


class Services(BaseHTTPRequestHandler):
    """The platform's HTTP side, each request handled by lti1p3platform's own code."""

    conf: Conf
    scores: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/jwks":
            self.conf.get_registration()
            self._send(200, self.conf.get_jwks())
        else:
            self._send(404, {})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        conf = self.conf
        conf.get_registration()
        if self.path == "/token":
            try:
                self._send(200, conf.get_access_token(dict(parse_qsl(body))))
            except Exception as exc:  # noqa: BLE001 - lti1p3platform's refusal, as the tool sees it
                self._send(400, {"error": type(exc).__name__})
        elif self.path.endswith("/scores"):
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if not conf.validate_token(token, allowed_scopes=[SCORE_SCOPE]):
                self._send(401, {})
                return
            Services.scores.append(json.loads(body))
            self._send(200, {})
        else:
            self._send(404, {})


@pytest.fixture(scope="module")
def independent(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("independent")
    klass = make_class(tmp)
    http = ThreadingHTTPServer(("127.0.0.1", 0), Services)
    url = f"http://127.0.0.1:{http.server_address[1]}"
    threading.Thread(target=http.serve_forever, daemon=True).start()
    private, public = _pem_pair()
    server = start_server(str(klass.db), tmp)
    Services.conf = Conf(iss=url, tool=server.url, private=private, public=public)
    out = klass.run("lti", "add-platform", "--name", "independent", "--issuer", url, "--client-id",
                    "independent-client", "--deployment-id", "dep-1", "--auth-url", f"{url}/auth",
                    "--token-url", f"{url}/token", "--jwks-url", f"{url}/jwks", "--match", "student-id")
    assert out.exit_code == 0, out.output
    yield klass, server, url
    server.stop()
    http.shutdown()


def _launch(client: httpx.Client, url: str, tool: str, configure) -> httpx.Response:
    """lti1p3platform's OIDC login initiation, quizgen's redirect, lti1p3platform's signed launch."""
    conf = Services.conf
    login = Login(None, conf)
    login.set_lti_message_hint(hint="link-1")
    start = client.get(login.initiate_login("20260001"))
    assert start.status_code == 302, start.text
    preflight = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    launch = Launch(preflight, conf)
    configure(launch)
    data = launch.lti_launch()
    return client.post(data["launch_url"], data={"id_token": data["id_token"], "state": data["state"]})


def test_an_independent_platform_launches_a_student_and_receives_the_score(independent):
    klass, server, url = independent
    with httpx.Client(trust_env=False, timeout=30) as client:
        def student(launch: Launch) -> None:
            launch.set_user_data("lms-user-1", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                                 "김민준", "a@example.ac.kr")
            launch.set_resource_link_claim("link-1")
            # no context claim: it is optional, and lti1p3platform sends none unless told to
            launch.set_custom_parameters_claim({"quiz": str(klass.quiz), "student_id": "20260001"})
            launch.set_ags(f"{url}/lineitems", f"{url}/lineitems/1")

        page = _launch(client, url, server.url, student)
        assert page.status_code == 200, page.text
        form = hidden(page.text)
        answers = {f"a:{k}": v for k, v in right_answers(klass.key("20260001")).items()}
        done = client.post(f"{server.url}/lti/submit", data={**form, **answers},
                           headers={"Sec-Fetch-Site": "same-origin"})
        assert done.status_code == 200
    import time

    deadline = time.monotonic() + 60
    while not Services.scores and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Services.scores and Services.scores[0]["userId"] == "lms-user-1"
    assert Services.scores[0]["scoreGiven"] == Services.scores[0]["scoreMaximum"]


def test_an_independent_platform_accepts_quizgens_deep_linking_response(independent):
    klass, server, url = independent
    with httpx.Client(trust_env=False, timeout=30) as client:
        def teacher(launch: Launch) -> None:
            launch.set_user_data("lms-teacher", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
                                 "김교수")
            launch.set_dl(f"{url}/deep-link-return", extra_data={"opaque": "xyz"})

        chooser = _launch(client, url, server.url, teacher)
        assert chooser.status_code == 200, chooser.text
        picked = client.post(f"{server.url}/lti/deep-link", data=hidden(chooser.text))
        assert picked.status_code == 200, picked.text
    response = hidden(picked.text)["JWT"]
    items = Services.conf.validate_deeplinking_resp({"JWT": response})
    assert [i["type"] for i in items] == ["ltiResourceLink"]
    assert items[0]["custom"] == {"quiz": str(klass.quiz)} and items[0]["lineItem"]["resourceId"] == \
        f"quizgen-quiz-{klass.quiz}"
