"""Fault injection for named AWS API actions: throttling, 5xx errors and added latency.

A rule matches a request by action (``*`` for any), and optionally by signing service and
region; it answers the way that service's protocol does, so botocore's retry layer sees a
real throttle or server error. A rule with a count stops after that many matches.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

KINDS = ("throttle", "error", "latency")

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_RPC_V2_PATH = re.compile(r"/service/[^/]+/operation/([^/?]+)")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class FaultRule:
    id: int
    action: str
    kind: str
    service: str | None = None
    region: str | None = None
    count: int | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    latency_ms: int = 0
    matched: int = 0

    def matches(self, request: ApiRequest) -> bool:
        return (
            self.action in ("*", request.action)
            and self.service in (None, request.service)
            and self.region in (None, request.region)
        )


@dataclass
class ApiRequest:
    service: str | None
    region: str | None
    action: str | None
    protocol: str  # query | ec2 | json | cbor | rest


class FaultInjector:
    """Holds the rules and wraps the AWS application with them."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: dict[str, Any]) -> FaultRule:
        kind = spec.get("kind", "throttle")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if not spec.get("action"):
            raise ValueError("action is required (an API action name such as ModifyListener, or *)")
        count = spec.get("count")
        if count is not None and int(count) < 1:
            raise ValueError("count must be 1 or more (omit it for a fault that does not stop)")
        if kind == "latency" and int(spec.get("latency_ms") or 0) <= 0:
            raise ValueError("a latency fault needs latency_ms above 0")
        rule = FaultRule(
            id=next(self._ids),
            action=spec["action"],
            kind=kind,
            service=spec.get("service"),
            region=spec.get("region"),
            count=None if count is None else int(count),
            status=spec.get("status"),
            code=spec.get("code"),
            message=spec.get("message"),
            latency_ms=int(spec.get("latency_ms") or 0),
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, request: ApiRequest) -> FaultRule | None:
        """The first live rule matching the request, counted down as it is used."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(request):
                    rule.matched += 1
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count == 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def middleware(self, app: WsgiApp) -> WsgiApp:
        def faulty(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if not self._rules:
                return app(environ, start_response)
            request = identify(environ)
            rule = self.take(request)
            if rule is None:
                return app(environ, start_response)
            if rule.kind == "latency":
                time.sleep(rule.latency_ms / 1000)
                return app(environ, start_response)
            return error_response(request, rule, start_response)

        return faulty


def identify(environ: dict[str, Any]) -> ApiRequest:
    """Service, region and action of an AWS request, read without consuming its body."""
    scope = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region, service = (scope.group(1), scope.group(2)) if scope else (None, None)
    path = environ.get("PATH_INFO", "")
    rpc = _RPC_V2_PATH.search(path)
    if rpc:
        return ApiRequest(service, region, rpc.group(1), "cbor")
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return ApiRequest(service, region, target.rsplit(".", 1)[-1], "json")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = _form_action(environ)
        return ApiRequest(service, region, action, "ec2" if service == "ec2" else "query")
    return ApiRequest(service, region, None, "rest")


def _form_action(environ: dict[str, Any]) -> str | None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    action = parse_qs(body.decode("utf-8", "replace")).get("Action") or parse_qs(environ.get("QUERY_STRING", "")).get(
        "Action"
    )
    return action[0] if action else None


def error_response(request: ApiRequest, rule: FaultRule, start_response: Callable[..., Any]) -> list[bytes]:
    throttle = rule.kind == "throttle"
    status = rule.status or (400 if throttle else 500)
    if request.protocol == "ec2" and throttle and not rule.status:
        status = 503
    code = rule.code or _default_code(request.protocol, throttle)
    message = rule.message or ("Rate exceeded" if throttle else "Injected server error")
    body, content_type = _render(request.protocol, code, message)
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("x-amzn-ErrorType", code),
    ]
    if request.protocol == "cbor":
        headers.append(("smithy-protocol", "rpc-v2-cbor"))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


_REASONS = {
    400: "Bad Request",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _default_code(protocol: str, throttle: bool) -> str:
    if not throttle:
        return "InternalFailure"
    return {"ec2": "RequestLimitExceeded", "query": "Throttling"}.get(protocol, "ThrottlingException")


def _render(protocol: str, code: str, message: str) -> tuple[bytes, str]:
    request_id = str(uuid.uuid4())
    if protocol == "ec2":
        xml = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        return xml.encode(), "text/xml"
    if protocol in ("query", "rest"):
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        return xml.encode(), "text/xml"
    if protocol == "cbor":
        return cbor_text_map({"__type": code, "message": message}), "application/cbor"
    return json.dumps({"__type": code, "message": message}).encode(), "application/x-amz-json-1.1"


def cbor_text_map(items: dict[str, str]) -> bytes:
    """CBOR for a small map of text to text: all an RPC v2 error body needs."""
    return _cbor_head(5, len(items)) + b"".join(_cbor_text(key) + _cbor_text(value) for key, value in items.items())


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    return _cbor_head(3, len(data)) + data


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 0x100:
        return bytes([major << 5 | 24, length])
    return bytes([major << 5 | 25]) + length.to_bytes(2, "big")
