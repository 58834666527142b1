"""Serving a phone's request for one of its files: identify, authenticate, render.

This is the hot path of a boot storm, and the security boundary of provd:
- every file needs HTTP Digest credentials, the device's own or, until the
  device is sealed, its tenant's bootstrap credential or a plug-and-play token
  issued for it (``services/pnp_tokens``);
- an unknown user, a wrong password, and a bootstrap credential or token used for
  an unknown, sealed or other MAC all get the same 401;
- credentials found wrong are answered 429 instead once the client keeps failing,
  but valid credentials are never refused for what any client did: the throttle is
  consulted only after the credentials were checked;
- nothing a request says is stored unless it authenticated.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from provd.db.models import Device
from provd.domain.mac import Mac
from provd.drivers.base import Driver, FileRequest, NotThisDevicesFile, UserAgentInfo
from provd.drivers.registry import classify, get_model, parse_user_agent
from provd.security.digest import DigestAuthenticator, Outcome, parse_authorization
from provd.security.ratelimit import AuthThrottle, client_key
from provd.services import metrics
from provd.services.devices import clamp_modules, note_reported_modules, seal_device
from provd.services.firmware import FirmwareGrant, firmware_grant
from provd.services.platform import Platform
from provd.services.provisioning import pnp_tokens, records
from provd.services.provisioning.fetch_notes import FetchNotes
from provd.services.provisioning.mark_cache import HarmlessIds, MarkCache, Miss, audit_mark
from provd.services.provisioning.records import PhoneDevice, PhoneTenant
from provd.services.provisioning.rendering import ContextCache

log = logging.getLogger("provd.provisioning")

_CONTENT_TYPES = {
    ".cfg": "text/plain; charset=utf-8",
    ".boot": "text/plain; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".htm": "application/xml; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class PhoneRequest:
    filename: str
    method: str
    uri: str
    """The request target exactly as sent (path and query): Digest signs it."""
    client_ip: str
    user_agent: str = ""
    authorization: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneResponse:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who an authenticated request is from."""

    device: PhoneDevice
    bootstrap: bool
    """True when the tenant's bootstrap credential or a PnP token stood for the device."""
    user_agent: UserAgentInfo | None
    mark: int
    """The audit mark read before the device was looked up (services/mark_cache)."""
    token: int | None = None
    """The PnP token that stood for the device: spent by its configuration's fetch."""


NOT_FOUND = PhoneResponse(404, b"Not Found\n")
RENDER_FAILED = PhoneResponse(500, b"Internal Server Error\n")
# Device.prov_username and Tenant.bootstrap_username are at most this long.
_MAX_USERNAME = 64


def _storable(header: str) -> str:
    """A header as text the database can store. aiohttp hands over the bytes of a
    header that are not UTF-8 as lone surrogates, which no database driver encodes:
    each becomes U+FFFD, as a browser would show it."""
    try:
        return header.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate no decoder made: keep what can be kept
        return header.encode("utf-8", "replace").decode("utf-8")


class Provisioner:
    def __init__(
        self,
        platform: Platform,
        authenticator: DigestAuthenticator,
        throttle: AuthThrottle | None = None,
    ) -> None:
        self._p = platform
        self._auth = authenticator
        self._throttle = throttle if throttle is not None else AuthThrottle()
        self._harmless = HarmlessIds()
        self._contexts = ContextCache(self._harmless)
        # The files themselves, per device and file name: a phone that fetches a file
        # again while nothing changed (a retry, a reboot, its periodic check) gets the
        # bytes rendered the first time. Same mark, same age as the contexts.
        self._bodies: MarkCache[tuple[int, str], bytes] = MarkCache(self._harmless)
        # Short-lived: a boot's three or four requests come within a second or two,
        # and this is who may fetch, so a missed change should not linger.
        self._principals: MarkCache[str, tuple[PhoneDevice | None, PhoneTenant | None]] = MarkCache(
            self._harmless, max_age=5.0
        )
        self._notes = FetchNotes()

    async def close(self) -> None:
        """Write the fetch notes still pending (the server is stopping)."""
        await self._notes.close()

    def _challenge(self, *, stale: bool = False) -> PhoneResponse:
        headers = [("WWW-Authenticate", v) for v in self._auth.challenge_headers(stale=stale)]
        return PhoneResponse(401, b"Unauthorized\n", headers=headers)

    async def _fail(self, req: PhoneRequest, username: str | None, reason: str) -> PhoneResponse:
        """The answer to credentials found wrong (never to right ones): a challenge, or
        429 while the client is throttled; the same for a known or an unknown user."""
        throttled = await self._throttle.failed(client_key(req.client_ip), username)
        metrics.phone_auth_failed(throttled=throttled.retry_after > 0)
        # The username is not a secret, but it is untrusted: log it escaped and short.
        shown = (username or "")[:64]
        for scope in throttled.started:
            log.warning(
                "provisioning: throttling by %s after repeated failures: ip=%s user=%r",
                scope,
                req.client_ip,
                shown,
            )
        if not throttled.retry_after:
            log.warning(
                "provisioning auth failed: ip=%s user=%r file=%r reason=%s",
                req.client_ip,
                shown,
                req.filename[:64],
                reason,
                extra={
                    "client_ip": req.client_ip,
                    "user": shown,
                    "file": req.filename[:64],
                    "reason": reason,
                },
            )
            return self._challenge()
        # Failures while throttled are not logged one by one: a client that ignores
        # Retry-After must not be able to flood the log.
        retry = str(math.ceil(throttled.retry_after))
        return PhoneResponse(429, b"Too Many Requests\n", headers=[("Retry-After", retry)])

    async def authenticate(
        self, req: PhoneRequest, file_request: FileRequest | None = None
    ) -> Principal | PhoneResponse:
        """The device whose credentials signed the request, or the answer to send instead
        (401 with a challenge, or 429 for wrong credentials while throttled).

        A tenant's bootstrap credential stands for the unsealed device that
        ``file_request`` (or the User-Agent) names; without a ``file_request``
        only a device's own credentials are accepted. Every refusal looks the
        same, and nothing is written before authentication succeeds.
        """
        if req.authorization is None:
            return self._challenge()
        creds = parse_authorization(req.authorization)
        if creds is None:
            return await self._fail(req, None, "malformed Authorization header")

        mark = await audit_mark()
        token = None
        if creds.username.startswith(pnp_tokens.PREFIX):
            # Never cached: a token is good for one configuration only.
            token = await pnp_tokens.find(self._p, creds.username)
            device = records.of_models(token.device, token.device.tenant) if token else None
            tenant = None
            password = token.password if token else None
        else:
            device, tenant = await self._principal(creds.username, mark)
            password = self._password_of(device, tenant)
        result = await self._auth.verify_async(
            creds, method=req.method, request_uri=req.uri, password=password
        )
        if result.outcome is Outcome.STALE:
            return self._challenge(stale=True)
        if result.outcome is not Outcome.OK:
            return await self._fail(req, creds.username, "bad credentials")

        ua = parse_user_agent(req.user_agent)
        if token is not None:
            # The token stands for its device's own files and nothing else.
            target = self._target_mac(file_request, ua) if file_request else None
            assert device is not None
            if target != device.mac or not self._may_fetch(device, file_request, ua):
                return await self._fail(req, creds.username, "token for another MAC or file")
            return Principal(device, True, ua, mark, token.id)
        bootstrap = device is None
        if device is None:
            assert tenant is not None
            if file_request is not None:
                device = await self._bootstrap_target(tenant, file_request, ua)
            if device is None or not self._may_fetch(device, file_request, ua):
                # Same answer as a wrong password: a bootstrap credential must not
                # tell which MACs a tenant has, or which are sealed.
                return await self._fail(req, creds.username, "bootstrap for unknown or sealed MAC")
        # Nothing is forgotten on success: a neighbour's success behind the same
        # address, or another device's under the shared bootstrap name, must not
        # wipe the count of a client that keeps failing.
        return Principal(device, bootstrap, ua, mark)

    async def serve(self, req: PhoneRequest) -> PhoneResponse:
        if req.method not in ("GET", "HEAD"):
            return PhoneResponse(405, b"Method Not Allowed\n", headers=[("Allow", "GET, HEAD")])
        classified = classify(req.filename)
        if classified is None:
            return NOT_FOUND
        driver, file_request = classified
        principal = await self.authenticate(req, file_request)
        if isinstance(principal, PhoneResponse):
            return principal
        device, ua = principal.device, principal.user_agent
        if not self._may_fetch(device, file_request, ua):
            return NOT_FOUND
        mark = principal.mark
        if (
            ua is not None
            and ua.expansion_modules is not None
            and await self._modules(device, ua.expansion_modules)
        ):
            # This request's own file must show what it just reported.
            mark = await audit_mark()
        body = await self._render(driver, device, mark, req.filename)
        if body is None:
            return NOT_FOUND
        if isinstance(body, PhoneResponse):
            return body
        if principal.token is not None and file_request.filename == driver.config_file(
            Mac(device.mac)
        ):
            if not await pnp_tokens.spend(principal.token):
                return await self._fail(req, "", "token already spent")
            log.info("provisioning: PnP token of %s spent on its configuration", device.mac)
        await self._note_use(principal, req)
        suffix = req.filename[req.filename.rfind(".") :]
        return PhoneResponse(
            200,
            body,
            content_type=_CONTENT_TYPES.get(suffix, "application/octet-stream"),
            headers=[("Cache-Control", "no-store")],
        )

    async def serve_firmware(
        self, req: PhoneRequest, sha256: str, filename: str
    ) -> FirmwareGrant | PhoneResponse:
        """Authorise a firmware download; the web layer streams the granted file.

        Only a device's own credentials are accepted, and only for an image it
        should run (or is being rolled out to it): anything else is a 404, the
        same whether the image exists or not.
        """
        if req.method not in ("GET", "HEAD"):
            return PhoneResponse(405, b"Method Not Allowed\n", headers=[("Allow", "GET, HEAD")])
        principal = await self.authenticate(req)
        if isinstance(principal, PhoneResponse):
            return principal
        grant = await firmware_grant(
            self._p, await Device.get(id=principal.device.id), sha256, filename
        )
        if grant is None:
            return NOT_FOUND
        await self._note_use(principal, req)
        return grant

    async def firmware_downloaded(self, grant: FirmwareGrant) -> None:
        """The phone received the image's last byte: rollouts advance on it."""
        log.info("firmware %s sent to %s", grant.image.version, grant.device.mac)
        try:
            await self._p.firmware_fetched(grant.device.id, grant.image.id)
        except Exception:
            # The phone has its file whatever a hook makes of it.
            log.exception("firmware-fetched hook failed for %s", grant.device.mac)

    async def _note_use(self, principal: Principal, req: PhoneRequest) -> None:
        device, ua = principal.device, principal.user_agent
        if not principal.bootstrap and not device.sealed:
            # In the request, with its audit row, before the answer: once a device's own
            # credentials have worked, its tenant's bootstrap credential must stop
            # working for it at once, in this process and in every other.
            self._harmless.add(await seal_device(await Device.get(id=device.id)))
            # Sealing changes who may fetch, not what is rendered, and the cached
            # principal is this very record: no cache needs to forget anything.
            device.sealed = True
        firmware = ua.firmware[:64] if ua is not None and ua.firmware else None
        await self._notes.note(device, req.client_ip, _storable(req.user_agent)[:255], firmware)

    async def _modules(self, device: PhoneDevice, reported: int) -> bool:
        """Whether the expansion modules the phone reported changed the device."""
        if clamp_modules(device.model, reported) == device.expansion_modules:
            return False
        changed = await note_reported_modules(await Device.get(id=device.id), reported)
        device.expansion_modules = clamp_modules(device.model, reported)
        return changed

    async def _principal(
        self, username: str, mark: int
    ) -> tuple[PhoneDevice | None, PhoneTenant | None]:
        if len(username) > _MAX_USERNAME:
            # Longer than any stored name: unknown, and not worth a cache slot.
            return None, None
        # Unknown names are cached too, so a repeated lookup costs the same whether
        # the name exists or not.
        cached = self._principals.get(username, mark)
        if not isinstance(cached, Miss):
            return cached
        found: tuple[PhoneDevice | None, PhoneTenant | None]
        if username.startswith("bootstrap-"):
            found = None, await records.tenant_by_bootstrap(username)
        else:
            found = await records.device_by_username(username), None
        self._principals.put(username, mark, found)
        return found

    def _password_of(self, device: PhoneDevice | None, tenant: PhoneTenant | None) -> str | None:
        if device is not None:
            return self._p.box.open(device.prov_password_enc)
        if tenant is not None:
            return self._p.box.open(tenant.bootstrap_password_enc)
        return None

    @staticmethod
    def _target_mac(file_request: FileRequest, ua: UserAgentInfo | None) -> Mac | None:
        if file_request.mac is not None:
            return file_request.mac
        return ua.mac if ua is not None else None

    async def _bootstrap_target(
        self, tenant: PhoneTenant, file_request: FileRequest, ua: UserAgentInfo | None
    ) -> PhoneDevice | None:
        mac = self._target_mac(file_request, ua)
        if mac is None:
            return None
        return await records.unsealed_device(mac, tenant.id)

    def _may_fetch(
        self, device: PhoneDevice, file_request: FileRequest | None, ua: UserAgentInfo | None
    ) -> bool:
        """A device fetches only its own files and its own model's common files."""
        if file_request is None:
            return True
        if file_request.mac is not None and file_request.mac != device.mac:
            return False
        return file_request.model is None or file_request.model == get_model(device.model)

    async def _render(
        self, driver: Driver, device: PhoneDevice, mark: int, filename: str
    ) -> bytes | PhoneResponse | None:
        """The file; None when the device has no such file (the driver says so with
        :class:`NotThisDevicesFile`); :data:`RENDER_FAILED` (logged with the MAC) for
        anything else that goes wrong, a driver's own bug included, never a 404."""
        if driver.vendor.value != device.vendor:
            return None
        cached = self._bodies.get((device.id, filename), mark)
        if isinstance(cached, bytes):
            return cached
        try:
            ctx = await self._contexts.context(self._p, device, mark=mark)
            body = driver.render(ctx, filename)
        except NotThisDevicesFile:
            return None
        except Exception:
            # Settings that cannot be rendered (a value stored before validation
            # refused it, say) cost this device its file and no other device anything.
            log.exception("provisioning: cannot render %r for %s", filename[:64], device.mac)
            return RENDER_FAILED
        self._bodies.put((device.id, filename), mark, body)
        return body
