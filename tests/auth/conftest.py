"""Auth fixtures: signing keys and a real JWKS endpoint (http.server in a thread)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


@dataclass
class JwksServer:
    """Serves ``document`` at ``url``; tests change the document, the delay, and count requests."""

    url: str = ""
    document: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    delay: float = 0.0
    requests: int = 0

    def publish(self, kid: str, private_key: Any, *, alg: str | None = None) -> None:
        algorithm = RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else ECAlgorithm
        jwk: dict[str, Any] = algorithm.to_jwk(private_key.public_key(), as_dict=True)
        jwk.update({"kid": kid, "use": "sig"})
        if alg:
            jwk["alg"] = alg
        self.document["keys"].append(jwk)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            time.sleep(state.delay)
            body = json.dumps(state.document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # The slow-server tests hang up before the answer: that is their point, not an error.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/auth/v1/.well-known/jwks.json"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
