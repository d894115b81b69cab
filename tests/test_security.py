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
    return project_env(DATABASE_URL=url, SECRET_KEY=SECRET_KEY, **overrides)


@pytest.fixture(scope="module")
def service(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("security-log") / "service.log"
    with served(project, service_env(), log) as base:
        yield base


def sign_up(service: str, name: str) -> tuple[dict[str, Any], Client]:
    """A new user, and a client signed in as them."""
    email = f"{name}.{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    anonymous = Client(service)
    created = anonymous.request(
        "POST", "/api/v1/users", {"email": email, "full_name": name, "password": password}
    )
    assert created.status == 201, created.text
    login = anonymous.request("POST", "/api/v1/auth/login", {"email": email, "password": password})
    assert login.status == 200, login.text
    return created.json(), Client(service, login.json()["access_token"])


def test_another_users_post_is_neither_changed_nor_deleted(service: str) -> None:
    _, author = sign_up(service, "author")
    _, other = sign_up(service, "other")
    post = author.request("POST", "/api/v1/posts", {"title": "Mine", "body": "As written"}).json()
    path = f"/api/v1/posts/{post['id']}"

    changed = other.request("PATCH", path, {"title": "Hijacked", "body": "Overwritten"})
    deleted = other.request("DELETE", path)

    for refused in (changed, deleted):
        assert refused.status == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert Client(service).request("GET", path).json() == post


def test_a_post_is_written_in_the_callers_name_only(service: str) -> None:
    victim, _ = sign_up(service, "victim")
    caller, client = sign_up(service, "caller")
    body = {"author_id": victim["id"], "title": "Forged", "body": "In another's name"}

    forged = client.request("POST", "/api/v1/posts", body)
    created = client.request("POST", "/api/v1/posts", {"title": "Mine", "body": "Text"})

    assert forged.status == 422, forged.text  # an author in the body is refused, not ignored
    assert created.status == 201, created.text
    assert created.json()["author_id"] == caller["id"]
    victims = Client(service).request("GET", f"/api/v1/posts?author_id={victim['id']}")
    assert victims.json()["total"] == 0


def test_an_anonymous_caller_sees_no_email(service: str) -> None:
    user, client = sign_up(service, "private")
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


def test_a_64_mib_body_is_refused_unread_and_the_service_keeps_answering(service: str) -> None:
    anonymous = Client(service)
    declared = anonymous.request("POST", "/api/v1/auth/login", raw=b"x" * (64 * MIB))
    streamed = anonymous.request(
        "POST", "/api/v1/auth/login", raw=iter([b"x" * MIB for _ in range(64)])
    )

    for refused in (declared, streamed):
        assert refused.status == 413, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert anonymous.request("GET", "/health").status == 200
    sign_up(service, "after")  # and writes still work


def test_answers_are_neither_sniffed_nor_stored_and_name_no_server(
    project: Path, service: str
) -> None:
    _, client = sign_up(service, "headers")
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


def test_a_token_without_issuer_and_audience_is_refused(service: str) -> None:
    # Signed with the service's own key, as a token issued before iss and aud were required.
    user, _ = sign_up(service, "legacy")
    now = int(time.time())
    token = signed_token({"sub": str(user["id"]), "iat": now, "exp": now + 300})

    answer = Client(service, token).request("GET", "/api/v1/users/me")

    assert answer.status == 401, answer.text


def test_a_password_change_needs_the_current_one_and_ends_older_tokens(service: str) -> None:
    anonymous = Client(service)
    account = {"email": f"changer.{secrets.token_hex(4)}@example.com", "full_name": "Changer"}
    password, new_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    anonymous.request("POST", "/api/v1/users", account | {"password": password})
    credentials = {"email": account["email"], "password": password}
    login = anonymous.request("POST", "/api/v1/auth/login", credentials)
    old = Client(service, login.json()["access_token"])

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


def test_an_email_change_and_a_deletion_need_the_current_password(service: str) -> None:
    user, client = sign_up(service, "holder")
    path = f"/api/v1/users/{user['id']}"

    moved = client.request("PATCH", path, {"email": f"thief.{secrets.token_hex(4)}@example.com"})
    deleted = client.request("DELETE", path)

    assert moved.status == 403, moved.text
    assert deleted.status == 403, deleted.text
    assert client.request("GET", "/api/v1/users/me").json()["email"].startswith("holder.")


def test_an_unknown_field_of_an_update_is_refused(service: str) -> None:
    user, client = sign_up(service, "unknown")

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
