"""Who may talk to the aggregator: loopback by default, CURVE elsewhere.

Results are only as trustworthy as the socket they arrive on. Binding to a
loopback address needs nothing; binding to any other address needs ZeroMQ
CURVE keys (``mcp-loadgen keys DIR``), so frames are encrypted and only
holders of a client key listed in DIR get in, or an explicit
``--aggregator-insecure`` that says the network is trusted.

Key directory layout (what ``create_keys`` writes):

- ``server.key`` / ``server.key_secret``: the aggregator's key pair.
- ``client.key`` / ``client.key_secret``: the key pair workers and readers use.
- any further ``*.key`` (public only) is another client allowed in.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from loadgen.errors import ConfigError

logger = logging.getLogger(__name__)

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_VERSION = b"1.0"
KEYS_ENV = "MCP_LOADGEN_AGGREGATOR_KEYS"


# Addresses -------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A TCP host and port (port 0: any free port, for binding)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "*" if self.port == 0 else str(self.port)
        return f"tcp://{host}:{port}"

    @property
    def is_wildcard(self) -> bool:
        return self.host in ("*", "0.0.0.0", "::")

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_endpoint(text: str, *, field: str) -> Endpoint:
    """``tcp://HOST:PORT`` or ``HOST:PORT`` (IPv6 hosts in brackets)."""
    raw = text.strip()
    rest = raw.removeprefix("tcp://")
    if "://" in rest:
        raise ConfigError(
            "only tcp:// addresses are supported", field=field, value=text
        )
    host, sep, port_text = rest.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host:
        raise ConfigError("must be HOST:PORT", field=field, value=text)
    if port_text == "*":
        port_text = "0"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError("port must be 0..65535", field=field, value=text)
    return Endpoint(host, int(port_text))


def endpoint_from_bound(url: str) -> Endpoint:
    """The endpoint ZeroMQ reports after binding (``LAST_ENDPOINT``)."""
    return parse_endpoint(url, field="bound endpoint")


# Keys ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerKeys:
    public: bytes
    secret: bytes
    allowed_clients: frozenset[bytes]


@dataclass(frozen=True)
class ClientKeys:
    public: bytes
    secret: bytes
    server_public: bytes


def create_keys(directory: Path) -> list[Path]:
    """Write a server and a client key pair into ``directory``."""
    import zmq.auth

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("server", "client"):
        if (directory / f"{name}.key").exists():
            raise ConfigError(
                "refusing to overwrite existing keys", source=str(directory / name)
            )
        public, secret = zmq.auth.create_certificates(directory, name)
        os.chmod(secret, 0o600)
        written += [Path(public), Path(secret)]
    return written


def _load(path: Path, *, secret: bool) -> tuple[bytes, bytes | None]:
    import zmq.auth

    if not path.is_file():
        raise ConfigError(
            "key file not found; create keys with `mcp-loadgen keys DIR`",
            source=str(path),
        )
    try:
        public, private = zmq.auth.load_certificate(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"not a ZeroMQ key file: {exc}", source=str(path)) from exc
    if secret and private is None:
        raise ConfigError("holds no secret key", source=str(path))
    return public, private


def load_server_keys(directory: Path) -> ServerKeys:
    public, secret = _load(directory / "server.key_secret", secret=True)
    assert secret is not None
    from zmq.utils import z85

    # ZAP hands us the client's raw 32-byte key; the files hold Z85 text.
    clients = frozenset(
        z85.decode(_load(p, secret=False)[0])
        for p in sorted(directory.glob("*.key"))
        if p.name != "server.key"
    )
    if not clients:
        raise ConfigError(
            "no client public key (*.key) to allow", source=str(directory)
        )
    return ServerKeys(public, secret, clients)


def load_client_keys(directory: Path) -> ClientKeys:
    public, secret = _load(directory / "client.key_secret", secret=True)
    server_public, _ = _load(directory / "server.key", secret=False)
    assert secret is not None
    return ClientKeys(public, secret, server_public)


def check_bind_policy(endpoint: Endpoint, keys_dir: str | None, insecure: bool) -> None:
    """Refuse a non-loopback bind without keys or an explicit insecure flag."""
    if endpoint.is_loopback or keys_dir or insecure:
        if insecure and not endpoint.is_loopback and not keys_dir:
            logger.warning(
                "Aggregator listens on %s without encryption or authentication "
                "(--aggregator-insecure)",
                endpoint.url,
            )
        return
    raise ConfigError(
        "binding to a non-loopback address needs CURVE keys "
        "(--aggregator-keys DIR, from `mcp-loadgen keys DIR`) or --aggregator-insecure",
        field="--aggregator-bind",
        value=f"{endpoint.host}:{endpoint.port}",
    )


# ZAP: the authentication handshake ZeroMQ asks us to decide ------------------


def zap_reply(request: Sequence[bytes], allowed: frozenset[bytes]) -> list[bytes]:
    """Answer one ZAP request: 200 for an allowed CURVE client, else 400."""
    if len(request) < 6 or request[0] != ZAP_VERSION:
        request_id = request[1] if len(request) > 1 else b""
        return [ZAP_VERSION, request_id, b"500", b"malformed ZAP request", b"", b""]
    request_id, mechanism = request[1], request[5]
    credentials = list(request[6:])
    if mechanism == b"CURVE" and credentials and credentials[0] in allowed:
        return [ZAP_VERSION, request_id, b"200", b"OK", b"", b""]
    return [ZAP_VERSION, request_id, b"400", b"client key not allowed", b"", b""]
