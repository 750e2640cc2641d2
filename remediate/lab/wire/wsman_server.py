"""Entry point of the lab's WinRM listener: `serve_wsman(host, bind=..., port=...)`.

One listener per emulated host. Per TCP connection: authentication state (wsauth); per host:
the WinRS cmd shells and PSRP runspace pools, created lazily so an idle host costs little.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from remediate.lab.api import EmulatedHost
from remediate.lab.wire.http import ConnectionInfo, HttpRequest, HttpResponse, serve_http
from remediate.lab.wire.psrp import PS_URI, PSRPService
from remediate.lab.wire.shellservice import RequestContext
from remediate.lab.wire.soap import WSManFault, fault_envelope, parse_request
from remediate.lab.wire.winrs import CMD_URI, WinRSService
from remediate.lab.wire.wsauth import AuthError, ConnectionAuth

log = logging.getLogger(__name__)


def _fault_unknown_resource(uri: str) -> WSManFault:
    return WSManFault(
        "w:DestinationUnreachable",
        "The WS-Management service cannot process the request because the resource URI is not valid. ",
        2150858770,
        f"The WS-Management service cannot process the request. The resource URI {uri} was not found. ",
    )


class HostEndpoint:
    """Everything one emulated host serves over WS-Man (shared by all its connections)."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host
        self._winrs: WinRSService | None = None
        self._psrp: PSRPService | None = None

    @property
    def winrs(self) -> WinRSService:
        if self._winrs is None:
            self._winrs = WinRSService(self.host)
        return self._winrs

    @property
    def psrp(self) -> PSRPService:
        if self._psrp is None:
            self._psrp = PSRPService(self.host)
        return self._psrp

    async def dispatch(self, soap: bytes, ctx: RequestContext) -> tuple[int, bytes]:
        """(HTTP status, SOAP response) for one decrypted request body."""
        relates_to = ""
        try:
            req = parse_request(soap)
            relates_to = req.message_id
            uri = req.resource_uri
            if uri.lower() == CMD_URI:
                return 200, await self.winrs.handle(req, ctx)
            if uri.lower().startswith("http://schemas.microsoft.com/powershell/"):
                if uri != PS_URI:
                    raise _fault_unknown_resource(uri)
                return 200, await self.psrp.handle(req, ctx)
            raise _fault_unknown_resource(uri)
        except WSManFault as fault:
            return 500, fault_envelope(fault, relates_to, ctx.machine)

    def close(self) -> None:
        if self._winrs is not None:
            self._winrs.close()
        if self._psrp is not None:
            self._psrp.close()


class _Connection:
    def __init__(self, endpoint: HostEndpoint, info: ConnectionInfo) -> None:
        self.endpoint = endpoint
        self.info = info
        self.auth = ConnectionAuth(endpoint.host, tls=info.tls)

    async def handle(self, request: HttpRequest) -> HttpResponse:
        path = request.target.split("?", 1)[0].rstrip("/").lower()
        if path != "/wsman":
            return HttpResponse(404)
        if request.method != "POST":
            return HttpResponse(405, [("Allow", "POST")])
        early, final_headers = self.auth.authenticate(request)
        if early is not None:
            return early
        try:
            soap = self.auth.open_body(request)
        except AuthError as exc:
            log.debug("refusing request on %s: %s", self.endpoint.host.name, exc)
            return self.auth.unauthorized()
        if not soap:  # clients authenticate with an empty POST before sending encrypted messages
            return HttpResponse(200, final_headers)
        ctx = RequestContext(owner=self.auth.user, client_ip=self.info.peer_ip, machine=self.info.local_ip)
        status, xml = await self.endpoint.dispatch(soap, ctx)
        content_type, body = self.auth.seal(xml)
        state = getattr(self.endpoint.host, "state", None)  # a WindowsHost's HostState
        chunked = bool(getattr(state, "http_chunked", False))
        return HttpResponse(status, [("Content-Type", content_type), *final_headers], body, chunked=chunked)

    def close(self) -> None:
        pass


async def serve_wsman(
    host: EmulatedHost, *, bind: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> asyncio.Server:
    """Serve `host` over WinRM on bind:port (HTTPS when ssl_context is given)."""
    endpoint = HostEndpoint(host)
    return await serve_http(
        lambda info: _Connection(endpoint, info), bind=bind, port=port, ssl_context=ssl_context
    )
