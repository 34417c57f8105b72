"""DatabaseSettings: environment prefix, defaults, refusals, secret handling."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from agentical_repo import DatabaseSettings
from agentical_repo.settings import DEFAULT_URL, SUPPORTED_SCHEMES, mask_url

ENV_FIELDS = (
    "URL",
    "NAMESPACE",
    "DATABASE",
    "USERNAME",
    "PASSWORD",
    "CONNECT_TIMEOUT",
    "QUERY_TIMEOUT",
    "MAX_RETRIES",
    "RETRY_BASE_DELAY",
    "RETRY_MAX_DELAY",
    "REQUIRE_SCHEMA",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_FIELDS:
        monkeypatch.delenv(f"AGENTICAL_DB_{name}", raising=False)


def test_defaults() -> None:
    s = DatabaseSettings()
    assert s.url == DEFAULT_URL == "surrealkv://.data/agentical"
    assert (s.namespace, s.database) == ("agentical", "main")
    assert s.username is None
    assert s.password is None
    assert s.max_retries == 3
    assert s.connect_timeout > 0
    assert s.query_timeout > 0
    assert s.scheme == "surrealkv"
    assert s.is_embedded
    assert s.require_schema
    assert s.store_path == ".data/agentical"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTICAL_DB_URL", "ws://db.internal:8000/rpc")
    monkeypatch.setenv("AGENTICAL_DB_NAMESPACE", "prod")
    monkeypatch.setenv("AGENTICAL_DB_DATABASE", "agents_2")
    monkeypatch.setenv("AGENTICAL_DB_USERNAME", "root")
    monkeypatch.setenv("AGENTICAL_DB_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("AGENTICAL_DB_QUERY_TIMEOUT", "2.5")
    monkeypatch.setenv("AGENTICAL_DB_CONNECT_TIMEOUT", "4")
    monkeypatch.setenv("AGENTICAL_DB_MAX_RETRIES", "7")
    s = DatabaseSettings()
    assert s.url == "ws://db.internal:8000/rpc"
    assert (s.namespace, s.database, s.username) == ("prod", "agents_2", "root")
    assert isinstance(s.password, SecretStr)
    assert s.password.get_secret_value() == "s3cret-pw"
    assert (s.query_timeout, s.connect_timeout, s.max_retries) == (2.5, 4.0, 7)
    assert s.scheme == "ws"
    assert not s.is_embedded


def test_unprefixed_env_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("URL", "ws://elsewhere/rpc")
    monkeypatch.setenv("NAMESPACE", "other")
    assert DatabaseSettings().url == DEFAULT_URL
    assert DatabaseSettings().namespace == "agentical"


def test_arguments_override_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTICAL_DB_URL", "ws://db:8000/rpc")
    assert DatabaseSettings(url="mem://").url == "mem://"


@pytest.mark.parametrize("scheme", SUPPORTED_SCHEMES)
def test_supported_schemes(scheme: str) -> None:
    s = DatabaseSettings(url=f"{scheme}://x")
    assert s.scheme == scheme
    assert s.is_embedded == (scheme in {"mem", "memory", "surrealkv", "file"})


def test_scheme_is_case_insensitive() -> None:
    assert DatabaseSettings(url="WS://host/rpc").scheme == "ws"


@pytest.mark.parametrize(
    "url", ["", "localhost:8000", "ftp://x", "postgres://x", "mem:", "mem:/x", "rocksdb://x"]
)
def test_bad_url_refused(url: str) -> None:
    with pytest.raises(PydanticValidationError, match="url"):
        DatabaseSettings(url=url)


def test_bad_url_from_env_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTICAL_DB_URL", "gopher://x")
    with pytest.raises(PydanticValidationError):
        DatabaseSettings()


@pytest.mark.parametrize("field", ["namespace", "database"])
@pytest.mark.parametrize("value", ["", "-a", "a b", "a;b", "a`b", "a.b", "main\n", "ä", "x" * 129])
def test_bad_names_refused(field: str, value: str) -> None:
    with pytest.raises(PydanticValidationError, match=field):
        DatabaseSettings(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["namespace", "database"])
@pytest.mark.parametrize("value", ["tenant-a", "2026-db", "a_b-c", "x" * 128, "A"])
def test_names_surrealdb_accepts_are_accepted(field: str, value: str) -> None:
    assert getattr(DatabaseSettings(**{field: value}), field) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"connect_timeout": 0},
        {"query_timeout": -1},
        {"query_timeout": 3601},
        {"max_retries": -1},
        {"max_retries": 21},
        {"retry_base_delay": -0.1},
    ],
)
def test_bad_numbers_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(PydanticValidationError):
        DatabaseSettings(**kwargs)  # type: ignore[arg-type]


def test_password_is_secret_and_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTICAL_DB_PASSWORD", "topsecret-value")
    s = DatabaseSettings(username="root")
    assert isinstance(s.password, SecretStr)
    for text in (repr(s), str(s), repr(s.model_dump()), s.model_dump_json()):
        assert "topsecret-value" not in text
    s2 = DatabaseSettings(password="another-secret")
    assert "another-secret" not in repr(s2)
    assert s2.password is not None
    assert s2.password.get_secret_value() == "another-secret"


def test_require_schema_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DatabaseSettings(require_schema=False).require_schema is False
    monkeypatch.setenv("AGENTICAL_DB_REQUIRE_SCHEMA", "false")
    assert DatabaseSettings().require_schema is False


@pytest.mark.parametrize("url", ["surrealkv://", "surrealkv:// ", "surrealkv://?sync=every", "file://"])
def test_an_empty_store_path_is_refused(url: str) -> None:
    """An empty path would put the store in the working directory."""
    with pytest.raises(PydanticValidationError, match="needs the path of the store"):
        DatabaseSettings(url=url)


def test_store_path() -> None:
    assert DatabaseSettings(url="surrealkv:///var/db?sync=every").store_path == "/var/db"
    assert DatabaseSettings(url="mem://").store_path is None


SECRET = "hunter2-marker"


@pytest.mark.parametrize(
    "url",
    [
        f"ws://root:{SECRET}@db.example:8000/rpc",
        f"https://root:{SECRET}@db.example",
        f"wss://{SECRET}@db.example/rpc",
    ],
)
def test_credentials_inside_the_url_are_refused_with_what_to_do(url: str) -> None:
    with pytest.raises(PydanticValidationError) as info:
        DatabaseSettings(url=url)
    text = f"{info.value} {info.value!r} {info.value.errors(include_input=False)}"
    assert "must not contain credentials" in text
    assert "AGENTICAL_DB_USERNAME / AGENTICAL_DB_PASSWORD" in text
    assert SECRET not in text


@pytest.mark.parametrize(
    "url",
    [f"wss//root:{SECRET}@db.example/rpc", f"postgres://root:{SECRET}@db", f"ws:/root:{SECRET}@db/rpc"],
)
def test_a_mistyped_url_with_a_password_is_not_quoted(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PydanticValidationError) as info:
        DatabaseSettings(url=url)
    assert SECRET not in f"{info.value} {info.value!r} {info.value.errors(include_input=False)}"
    monkeypatch.setenv("AGENTICAL_DB_URL", url)
    with pytest.raises(PydanticValidationError) as info:
        DatabaseSettings()
    assert SECRET not in str(info.value)


def test_no_refused_value_is_quoted() -> None:
    with pytest.raises(PydanticValidationError) as info:
        DatabaseSettings(password=12345678901234567890, namespace="bad ns marker")
    assert "12345678901234567890" not in str(info.value)
    assert "bad ns marker" not in str(info.value)


def test_repr_str_and_json_mask_credentials() -> None:
    s = DatabaseSettings(url="ws://db.example:8000/rpc", username="root", password=SECRET)
    # a URL with credentials can only come from model_construct (validation refuses it)
    raw = DatabaseSettings.model_construct(url=f"ws://root:{SECRET}@db.example/rpc", password=s.password)
    for settings in (s, raw):
        for text in (repr(settings), str(settings), settings.model_dump_json()):
            assert SECRET not in text
    assert "ws://***@db.example/rpc" in repr(raw)
    assert raw.safe_url == "ws://***@db.example/rpc"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("ws://u:p@h:1/rpc", "ws://***@h:1/rpc"),
        ("ws://h/rpc?x=a@b", "ws://h/rpc?x=a@b"),
        ("mem://", "mem://"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
