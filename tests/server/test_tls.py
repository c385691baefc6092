"""HTTPS: ``serve --certfile --keyfile``. A desk whose ``ca_bundle`` holds the force's CA signs
in; a desk without it refuses, saying the certificate is not trusted (the sentence the
sign-in dialog shows)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from dispatchdesk.app.cli import main
from dispatchdesk.app.config import Config
from dispatchdesk.app.desk import client_transport
from dispatchdesk.server import EmbeddedServer, ServerSettings
from dispatchdesk.sync.client import ApiClient
from dispatchdesk.sync.errors import ConnectionLost

from .conftest import PASSWORD


@pytest.fixture
def tls(settings: ServerSettings, tmp_path: Path) -> tuple[EmbeddedServer, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, ca_file = (tmp_path / n for n in ("server.pem", "server.key", "ca.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    ca.cert_pem.write_to_path(str(ca_file))
    return EmbeddedServer(replace(settings, certfile=str(certfile), keyfile=str(keyfile))), ca_file


def _sign_in(url: str, config: Config) -> str:
    async def go() -> str:
        client = ApiClient(url, transport=client_transport(config))
        try:
            reply = await client.sign_in("dan", PASSWORD)
            await client.snapshot()
            return reply.role.value
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_desk_with_the_ca_signs_in_over_https(tls: tuple[EmbeddedServer, Path]) -> None:
    server, ca_file = tls
    with server:
        assert server.url.startswith("https://127.0.0.1:")
        assert _sign_in(server.url, Config(ca_bundle=str(ca_file))) == "dispatcher"


def test_a_desk_without_the_ca_refuses_saying_why(tls: tuple[EmbeddedServer, Path]) -> None:
    server, _ca_file = tls
    with server:
        with pytest.raises(ConnectionLost) as refused:
            _sign_in(server.url, Config())
        text = str(refused.value)
        assert "certificate is not trusted" in text
        assert "ca_bundle" in text
        # another CA's bundle is no better
        other = trustme.CA()
        path = Path(str(_ca_file) + ".other")
        other.cert_pem.write_to_path(str(path))
        with pytest.raises(ConnectionLost, match="certificate is not trusted"):
            _sign_in(server.url, Config(ca_bundle=str(path)))


def test_plain_http_to_an_https_server_is_not_answered(tls: tuple[EmbeddedServer, Path]) -> None:
    server, ca_file = tls
    with server:
        url = server.url.replace("https://", "http://")
        with pytest.raises(ConnectionLost):
            _sign_in(url, Config(ca_bundle=str(ca_file)))


def test_serve_needs_both_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--certfile", "server.pem"]) == 2
    assert "both --certfile and --keyfile" in capsys.readouterr().err
    with pytest.raises(ValueError, match="both certfile and keyfile"):
        ServerSettings(db_url="sqlite://", keyfile="k.pem")
