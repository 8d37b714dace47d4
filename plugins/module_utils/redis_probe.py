# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A Redis health probe over RESP2: connect (TLS verified, or plain TCP), AUTH, a timed PING, INFO replication.

Standard library only, so a module reaches an ElastiCache endpoint without redis-py on the controller.
What goes wrong on the way (refused, timed out, TLS, WRONGPASS, a closed connection) is a fact about
the cache, returned in the result's error, not raised.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any, BinaryIO


class RespError(Exception):
    """The server answered a command with an error reply (``-WRONGPASS ...``, ``-ERR ...``)."""


class ProtocolError(Exception):
    """The server's answer is not RESP2, or not the one the command expects."""


def encode(*args: str) -> bytes:
    """A command as a RESP array of bulk strings."""
    encoded = [arg.encode() for arg in args]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded)


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ProtocolError("the server closed the connection")
    return line[:-2]


def read_reply(reader: BinaryIO) -> Any:
    """One reply: simple and bulk strings as str, integers as int, arrays as lists, nulls as None."""
    line = _line(reader)
    kind, body = line[:1], line[1:].decode(errors="replace")
    if kind == b"+":
        return body
    if kind == b"-":
        raise RespError(body)
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        data = reader.read(size + 2)
        if len(data) != size + 2:
            raise ProtocolError("the server closed the connection")
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        return None if int(body) < 0 else [read_reply(reader) for _ in range(int(body))]
    raise ProtocolError(f"unexpected reply {line[:80]!r}")


def parse_info(text: str) -> dict[str, str]:
    """INFO's ``field:value`` lines (section headers and blank lines left out)."""
    fields = (line.split(":", 1) for line in text.splitlines() if line and not line.startswith("#") and ":" in line)
    return {name: value for name, value in fields}


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """Server certificate and host name verified, against ca_bundle or else the system's trust store."""
    return ssl.create_default_context(cafile=ca_bundle)


class RespConnection:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")

    def call(self, *args: str) -> Any:
        self._sock.sendall(encode(*args))
        return read_reply(self._reader)

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


def _describe(error: Exception) -> str:
    # socket.timeout is TimeoutError, whose message is empty or an OpenSSL location.
    return "timed out" if isinstance(error, TimeoutError) else str(error) or type(error).__name__


def unreachable(error: str | None = None) -> dict[str, Any]:
    """A probe's result before any answer; error says why there is none."""
    return {"reachable": False, "ping_seconds": None, "role": None, "connected_slaves": None, "error": error}


def probe(address: str, port: int, token: str, timeout: float, context: ssl.SSLContext | None) -> dict[str, Any]:
    """What the endpoint answers: reachable once PING is answered after AUTH, with the round trip of that
    PING in seconds, then the role and replica count INFO replication gives. error names the step that
    failed and why; None when every step answered. context None means plain TCP; timeout bounds each
    network operation."""
    result = unreachable()
    step = "connect"
    sock: socket.socket | None = None
    conn: RespConnection | None = None
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
        if context is not None:
            step = "TLS handshake"
            # On a failed handshake the SSL socket, which took over the connection, closes it.
            sock = context.wrap_socket(sock, server_hostname=address)
        conn = RespConnection(sock)
        step = "AUTH"
        conn.call("AUTH", token)
        step = "PING"
        started = time.perf_counter()
        pong = conn.call("PING")
        elapsed = time.perf_counter() - started
        if pong != "PONG":
            raise ProtocolError(f"PING answered {pong!r}")
        result.update(reachable=True, ping_seconds=round(elapsed, 6))
        step = "INFO replication"
        info = parse_info(conn.call("INFO", "replication"))
        slaves = info.get("connected_slaves")
        result.update(role=info.get("role"), connected_slaves=int(slaves) if slaves is not None else None)
    except (OSError, RespError, ProtocolError, ValueError) as error:
        result["error"] = f"{step}: {_describe(error)}"
    finally:
        if conn is not None:
            conn.close()
        elif sock is not None:
            sock.close()
    return result
