"""A JWT render, served by uvicorn on a migrated database, tried as a security reviewer would:
nobody writes another user's post or in another user's name, an anonymous caller sees no
email, a huge body is refused unread and the service keeps answering, answers carry the
security headers and name no server, tokens without issuer and audience and unknown fields are
refused, the key of .env.example starts nothing, and compose publishes on the loopback
interface only (docs/security.md)."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.variants import MATRIX
from tools.projects import database_url, project_env, query, render, run, sync, uv_run
from tools.serving import Client, free_port, serve_command, served

DATABASE = "meta_security_dev"
SECRET_KEY = secrets.token_urlsafe(48)
ISSUER = "meta-security"
ACCEPTED = {"detail": "If the address can be used, a message was sent to it."}
MIB = 1024 * 1024
# The placeholder .env.example shipped until the key had to be made: teams copied it.
OLD_PLACEHOLDER = "replace-with-a-long-random-string"


@pytest.fixture(scope="module")
def project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A JWT render, installed, with a migrated database of its own on the meta suite's server."""
    project = sync(render(template, tmp_path_factory.mktemp("security") / "my-service", auth="jwt"))
    env = project_env(database="meta_security_test")
    query(project, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", env)
    query(project, f"CREATE DATABASE {DATABASE}", env)
    try:
        uv_run(project, "alembic", "upgrade", "head", env=service_env())
        yield project
    finally:
        query(project, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", env)


def service_env(**overrides: str) -> dict[str, str]:
    url = database_url(project_env(), DATABASE, scheme="postgresql+asyncpg")
    issued = {"JWT_ISSUER": ISSUER, "JWT_AUDIENCE": ISSUER}
    return project_env(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, **issued, **overrides)


@pytest.fixture(scope="module")
def service(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("security-log") / "service.log"
    with served(project, service_env(), log) as base:
        yield base


SignUp = Callable[..., tuple[dict[str, Any], Client]]


def confirmation_token(project: Path, email: str) -> str:
    """The token the service mailed to `email`, made again as the service makes it.

    The service runs in another process, and its LoggingMailer sends nothing and logs no token
    (a log line is no place for a credential): what the test shares with it is the key and the
    database. The token names the account and its password version (a keyed digest of the
    stored hash, security.password_version).
    """
    sql = f"SELECT id, hashed_password FROM users WHERE email = '{email}'"
    # The account is made after the 202, once its password is hashed.
    deadline = time.monotonic() + 30
    while not (rows := query(project, sql, service_env(), database=DATABASE)):
        assert time.monotonic() < deadline, f"no account was made for {email}"
        time.sleep(0.1)
    [[user_id, hashed_password]] = rows
    key = SECRET_KEY.encode()
    version = hmac.new(key, hashed_password.encode(), hashlib.sha256).hexdigest()[:32]
    now = int(time.time())
    claims = {"sub": str(user_id), "email": email, "ver": version, "iat": now, "exp": now + 300}
    return signed_token(claims | {"iss": ISSUER, "aud": f"{ISSUER}/confirm"})


@pytest.fixture(scope="module")
def sign_up(project: Path, service: str) -> SignUp:
    def sign_up(name: str, password: str | None = None) -> tuple[dict[str, Any], Client]:
        """A new user (with `password`, or a random one), confirmed through
        POST /api/v1/auth/confirm, and a client signed in as them."""
        email = f"{name}.{secrets.token_hex(4)}@example.com"
        password = password or secrets.token_urlsafe(16)
        anonymous = Client(service)
        account = {"email": email, "full_name": name, "password": password}
        created = anonymous.request("POST", "/api/v1/users", account)
        assert (created.status, created.json()) == (202, ACCEPTED), created.text
        token = confirmation_token(project, email)
        confirmed = anonymous.request("POST", "/api/v1/auth/confirm", {"token": token})
        assert confirmed.status == 204, confirmed.text
        credentials = {"email": email, "password": password}
        login = anonymous.request("POST", "/api/v1/auth/login", credentials)
        assert login.status == 200, login.text
        client = Client(service, login.json()["access_token"])
        return client.request("GET", "/api/v1/users/me").json(), client

    return sign_up


def test_another_users_post_is_neither_changed_nor_deleted(service: str, sign_up: SignUp) -> None:
    _, author = sign_up("author")
    _, other = sign_up("other")
    post = author.request("POST", "/api/v1/posts", {"title": "Mine", "body": "As written"}).json()
    path = f"/api/v1/posts/{post['id']}"

    changed = other.request("PATCH", path, {"title": "Hijacked", "body": "Overwritten"})
    deleted = other.request("DELETE", path)

    for refused in (changed, deleted):
        assert refused.status == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert Client(service).request("GET", path).json() == post


def test_a_post_is_written_in_the_callers_name_only(service: str, sign_up: SignUp) -> None:
    victim, _ = sign_up("victim")
    caller, client = sign_up("caller")
    body = {"author_id": victim["id"], "title": "Forged", "body": "In another's name"}

    forged = client.request("POST", "/api/v1/posts", body)
    created = client.request("POST", "/api/v1/posts", {"title": "Mine", "body": "Text"})

    assert forged.status == 422, forged.text  # an author in the body is refused, not ignored
    assert created.status == 201, created.text
    assert created.json()["author_id"] == caller["id"]
    victims = Client(service).request("GET", f"/api/v1/posts?author_id={victim['id']}")
    assert victims.json()["total"] == 0


def test_an_anonymous_caller_sees_no_email(service: str, sign_up: SignUp) -> None:
    user, client = sign_up("private")
    post = client.request("POST", "/api/v1/posts", {"title": "Public", "body": "Text"}).json()
    anonymous = Client(service)
    ids = {"user_id": user["id"], "post_id": post["id"]}
    paths = anonymous.request("GET", "/openapi.json").json()["paths"]

    # Every operation of the schema, with the ids of existing rows; writes without a token.
    answers = {
        f"{method.upper()} {path}": anonymous.request(method.upper(), path.format(**ids), {})
        for path, operations in paths.items()
        for method in operations
    }

    assert answers["GET /api/v1/users"].status == 200
    assert answers["GET /api/v1/users/{user_id}"].status == 200
    assert answers["GET /api/v1/users/me"].status == 401
    leaks = {name: a.text for name, a in answers.items() if re.search(r"[\w.]+@[\w.]+", a.text)}
    assert leaks == {}


def test_a_64_mib_body_is_refused_unread_and_the_service_keeps_answering(
    service: str, sign_up: SignUp
) -> None:
    anonymous = Client(service)
    declared = anonymous.request("POST", "/api/v1/auth/login", raw=b"x" * (64 * MIB))
    streamed = anonymous.request(
        "POST", "/api/v1/auth/login", raw=iter([b"x" * MIB for _ in range(64)])
    )

    for refused in (declared, streamed):
        assert refused.status == 413, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert anonymous.request("GET", "/health").status == 200
    sign_up("after")  # and writes still work


def test_answers_are_neither_sniffed_nor_stored_and_name_no_server(
    project: Path, service: str, sign_up: SignUp
) -> None:
    _, client = sign_up("headers")
    answers = {
        "health": client.request("GET", "/health"),
        "own account": client.request("GET", "/api/v1/users/me"),
        "refusal": client.request("GET", "/api/v1/users/0"),
    }

    for name, answer in answers.items():
        headers = {header.lower(): value for header, value in answer.headers.items()}
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["cache-control"] == "no-store", name
        assert "server" not in headers, name
    # Served as the Dockerfile serves it: the flag above is the Dockerfile's.
    assert '"--no-server-header"]' in (project / "Dockerfile").read_text()


def signed_token(claims: dict[str, Any]) -> str:
    """An HS256 token with `claims`, signed with the service's key, made by hand."""

    def encode(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = f"{encode({'alg': 'HS256', 'typ': 'JWT'})}.{encode(claims)}"
    signature = hmac.new(SECRET_KEY.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_a_token_without_issuer_and_audience_is_refused(service: str, sign_up: SignUp) -> None:
    # Signed with the service's own key, as a token issued before iss and aud were required.
    user, _ = sign_up("legacy")
    now = int(time.time())
    token = signed_token({"sub": str(user["id"]), "iat": now, "exp": now + 300})

    answer = Client(service, token).request("GET", "/api/v1/users/me")

    assert answer.status == 401, answer.text


def test_a_password_change_needs_the_current_one_and_ends_older_tokens(
    service: str, sign_up: SignUp
) -> None:
    password, new_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    _, old = sign_up("changer", password)

    wrong = old.request(
        "POST",
        "/api/v1/users/me/password",
        {"current_password": "not the password", "new_password": new_password},
    )
    changed = old.request(
        "POST",
        "/api/v1/users/me/password",
        {"current_password": password, "new_password": new_password},
    )

    assert wrong.status == 403, wrong.text
    assert changed.status == 200, changed.text
    assert old.request("GET", "/api/v1/users/me").status == 401  # on every device
    new = Client(service, changed.json()["access_token"])
    assert new.request("GET", "/api/v1/users/me").status == 200


def test_an_email_change_and_a_deletion_need_the_current_password(
    service: str, sign_up: SignUp
) -> None:
    user, client = sign_up("holder")
    path = f"/api/v1/users/{user['id']}"

    moved = client.request("PATCH", path, {"email": f"thief.{secrets.token_hex(4)}@example.com"})
    deleted = client.request("DELETE", path)

    assert moved.status == 403, moved.text
    assert deleted.status == 403, deleted.text
    assert client.request("GET", "/api/v1/users/me").json()["email"].startswith("holder.")


def test_an_unknown_field_of_an_update_is_refused(service: str, sign_up: SignUp) -> None:
    user, client = sign_up("unknown")

    answer = client.request("PATCH", f"/api/v1/users/{user['id']}", {"password": "new one!"})

    assert answer.status == 422, answer.text


@pytest.mark.parametrize("key", ["env-example", OLD_PLACEHOLDER])
def test_the_key_of_env_example_starts_no_service(project: Path, tmp_path: Path, key: str) -> None:
    # As the README says: copy .env.example to .env, and start the service.
    shutil.copy(project / ".env.example", project / ".env")
    if key != "env-example":
        with (project / ".env").open("a") as env_file:
            env_file.write(f"\nSECRET_KEY={key}\n")
    env = service_env()
    del env["SECRET_KEY"]
    try:
        result = run(serve_command(project, free_port()), project, env=env, timeout=60, check=False)
    finally:
        (project / ".env").unlink()

    assert result.returncode != 0, result.output
    assert "SECRET_KEY is" in result.output
    assert OLD_PLACEHOLDER not in result.output  # the message never repeats the key


def docker_variants() -> list[str]:
    return [name for name, answers in MATRIX.items() if answers.get("docker", True)]


@pytest.mark.parametrize("variant", docker_variants())
def test_compose_publishes_on_the_loopback_interface_only(
    matrix_projects: Callable[[str], Path], variant: str
) -> None:
    compose = yaml.safe_load((matrix_projects(variant) / "compose.yaml").read_text())

    published = [
        port for service in compose["services"].values() for port in service.get("ports", [])
    ]

    assert published
    assert [port for port in published if not str(port).startswith("127.0.0.1:")] == []
    if MATRIX[variant].get("auth") == "jwt":  # and refuses to start without a key
        environment = compose["services"]["app"]["environment"]
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")


def new_account(email: str) -> dict[str, str]:
    return {"email": email, "full_name": "Probe", "password": secrets.token_urlsafe(16)}


def free_email() -> str:
    return f"free.{secrets.token_hex(4)}@example.com"


def test_taken_and_free_addresses_get_the_same_answers(service: str, sign_up: SignUp) -> None:
    # Whoever calls learns nothing of who has an account: the owner of the address is mailed.
    password = secrets.token_urlsafe(16)
    owner, client = sign_up("owner", password)
    anonymous = Client(service)
    path = f"/api/v1/users/{owner['id']}"
    other, _ = sign_up("other")

    def answers(email: str) -> dict[str, tuple[int, str]]:
        sent = {
            "sign-up": anonymous.request("POST", "/api/v1/users", new_account(email)),
            "import": client.request("POST", "/api/v1/users/import", [new_account(email)]),
            "email change": client.request(
                "PATCH", path, {"email": email, "current_password": password}
            ),
        }
        return {name: (answer.status, answer.text) for name, answer in sent.items()}

    taken = answers(other["email"])
    free = answers(free_email())

    assert taken == free
    assert taken["sign-up"] == (202, json.dumps(ACCEPTED, separators=(",", ":")))
    assert other["email"] not in str(taken)


def test_a_full_hash_queue_answers_503_with_retry_after(
    project: Path, tmp_path_factory: pytest.TempPathFactory, sign_up: SignUp
) -> None:
    # A service of its own with room for one hash: an import of two is refused whole.
    _, client = sign_up("importer")
    log = tmp_path_factory.mktemp("security-queue-log") / "service.log"
    with served(project, service_env(PASSWORD_HASH_QUEUE="1"), log) as base:
        importer = Client(base, client.token)
        refused = importer.request(
            "POST", "/api/v1/users/import", [new_account(free_email()) for _ in range(2)]
        )
        accepted = importer.request("POST", "/api/v1/users/import", [new_account(free_email())])

    assert refused.status == 503, refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert accepted.status == 202, accepted.text
