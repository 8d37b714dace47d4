"""redis_probe: RESP encoding and replies, then the probe against a fake server on loopback, plain and TLS."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils import redis_probe
from unit.fake_redis import WRONGPASS, FakeRedis, running, self_signed_certificate, unused_port

TOKEN = "Test-AUTH-token-0123456789abcdef"


# -- RESP --------------------------------------------------------------------------------------


def test_a_command_is_an_array_of_bulk_strings() -> None:
    assert redis_probe.encode("AUTH", "tök") == b"*2\r\n$4\r\nAUTH\r\n$4\r\nt\xc3\xb6k\r\n"


@pytest.mark.parametrize(
    ("wire", "reply"),
    [
        (b"+PONG\r\n", "PONG"),
        (b":42\r\n", 42),
        (b"$5\r\na\r\nbc\r\n", "a\r\nbc"),
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b"*3\r\n+OK\r\n:1\r\n*1\r\n$1\r\nx\r\n", ["OK", 1, ["x"]]),
    ],
)
def test_replies(wire: bytes, reply: object) -> None:
    assert redis_probe.read_reply(io.BytesIO(wire)) == reply


def test_an_error_reply_raises_with_its_text() -> None:
    with pytest.raises(redis_probe.RespError, match=r"^WRONGPASS invalid"):
        redis_probe.read_reply(io.BytesIO(f"-{WRONGPASS}\r\n".encode()))


@pytest.mark.parametrize("wire", [b"", b"+PON", b"$10\r\nshort\r\n"])
def test_a_connection_closed_mid_reply_is_a_protocol_error(wire: bytes) -> None:
    with pytest.raises(redis_probe.ProtocolError, match="closed the connection"):
        redis_probe.read_reply(io.BytesIO(wire))


def test_an_unknown_reply_type_is_a_protocol_error() -> None:
    with pytest.raises(redis_probe.ProtocolError, match="unexpected reply"):
        redis_probe.read_reply(io.BytesIO(b"%1\r\n"))


def test_info_fields() -> None:
    text = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\r\nslave0:ip=10.0.0.1,port=6379\r\n"
    assert redis_probe.parse_info(text) == {
        "role": "master",
        "connected_slaves": "2",
        "slave0": "ip=10.0.0.1,port=6379",
    }


# -- the probe against a fake server -----------------------------------------------------------


def probe(server: FakeRedis, context=None, token: str = TOKEN, timeout: float = 2.0) -> dict[str, object]:
    return redis_probe.probe("127.0.0.1", server.port, token, timeout, context)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_plain_tcp_auth_ping_and_replication() -> None:
    with running(FakeRedis(TOKEN, connected_slaves=2)) as server:
        result = probe(server)
    assert result["reachable"] is True
    assert isinstance(result["ping_seconds"], float) and 0 <= result["ping_seconds"] < 2
    assert (result["role"], result["connected_slaves"], result["error"]) == ("master", 2, None)
    assert server.commands == [["AUTH", TOKEN], ["PING"], ["INFO", "replication"]]


def test_tls_verified_against_the_ca_bundle(certificate) -> None:
    with running(FakeRedis(TOKEN, role="slave", connected_slaves=0, cert=certificate)) as server:
        result = probe(server, redis_probe.tls_context(str(certificate[0])))
    assert result["reachable"] is True, result
    assert (result["role"], result["connected_slaves"], result["error"]) == ("slave", 0, None)


def test_a_certificate_the_trust_store_does_not_know_is_a_tls_failure(certificate) -> None:
    with running(FakeRedis(TOKEN, cert=certificate)) as server:
        result = probe(server, redis_probe.tls_context())
    assert result["reachable"] is False
    assert result["error"].startswith("TLS handshake: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result["error"]
    assert server.commands == []


def test_a_plain_client_gets_no_answer_from_a_tls_endpoint(certificate) -> None:
    with running(FakeRedis(TOKEN, cert=certificate)) as server:
        result = probe(server)
    assert result["reachable"] is False
    assert result["error"].startswith("AUTH: ")


def test_a_wrong_token_is_wrongpass_and_nothing_more_is_asked(certificate) -> None:
    with running(FakeRedis(TOKEN, cert=certificate)) as server:
        result = probe(server, redis_probe.tls_context(str(certificate[0])), token="Not-the-token-0123456789")
    assert result == {
        "reachable": False,
        "ping_seconds": None,
        "role": None,
        "connected_slaves": None,
        "error": f"AUTH: {WRONGPASS}",
    }
    assert [c[0] for c in server.commands] == ["AUTH"]


def test_connection_refused() -> None:
    result = redis_probe.probe("127.0.0.1", unused_port(), TOKEN, 2.0, None)
    assert result["reachable"] is False
    assert result["error"].startswith("connect: ") and "refused" in result["error"]


def test_a_server_that_does_not_answer_times_out() -> None:
    with running(FakeRedis(TOKEN, silent=True)) as server:
        result = probe(server, timeout=0.2)
    assert (result["reachable"], result["error"]) == (False, "AUTH: timed out")


def test_an_info_failure_after_ping_keeps_the_ping() -> None:
    with running(
        FakeRedis(TOKEN, info_error="NOPERM this user has no permissions to run the 'info' command")
    ) as server:
        result = probe(server)
    assert result["reachable"] is True and result["ping_seconds"] is not None
    assert result["role"] is None
    assert result["error"] == "INFO replication: NOPERM this user has no permissions to run the 'info' command"


def test_a_ping_answered_with_something_else_is_not_reachable() -> None:
    with running(FakeRedis(TOKEN, pong="LOADING")) as server:
        result = probe(server)
    assert (result["reachable"], result["ping_seconds"], result["error"]) == (
        False,
        None,
        "PING: PING answered 'LOADING'",
    )
    assert [c[0] for c in server.commands] == ["AUTH", "PING"]
