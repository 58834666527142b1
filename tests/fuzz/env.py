"""Fuzz targets that need a database: CSV import, layout import, every API body and
the phone path, against a seeded provd on an SQLite file in a temporary directory.

Properties: never a 5xx (except a 5xx the operation documents, the PBX routes' 503
without a PBX) and never an exception other than the domain's errors; after a
refused request (4xx, or the service's ``InvalidInput``/``NotFound``) the database
is exactly as before, compared as a dump of every table (:meth:`FuzzEnv.snapshot`).

The environment runs on its own event loop (:class:`Driver`), so that hypothesis,
which is synchronous, can drive it example by example, in the tests and in
``bench/fuzz.py`` alike.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st
from tortoise import connections

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.domain.errors import InvalidInput, NotFound
from provd.security.secretbox import SecretBox
from provd.services import audit, devices, layouts
from provd.services.access import tokens
from provd.services.devices import csv_io as device_csv
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.settings import Settings, save_settings
from provd.web import openapi
from provd.web.app import make_app
from provd.web.server import build_provisioner
from tests.digest_client import authorization, parse_challenge
from tests.fuzz.targets import (
    MODEL_IDS,
    ROUTE_ALPHABET,
    csv_files,
    file_names,
    known,
    macs,
    text,
    user_agents,
)

T = TypeVar("T")
ACTOR = audit.Actor("fuzz")
SETTINGS = Settings(
    public_host="provd.test", https_port=8443, sip_proxy_host="sip.provd.test", bind="127.0.0.1"
)
# Columns a refused request may legitimately touch: a token's last use is noted
# (at most once a minute) before the handler sees the body.
_VOLATILE = {"api_token": {"last_used_at"}}

# The seeded fleet: what the strategies name, so that bodies hit real objects.
YEALINK_MAC = "0015654aa937"
SNOM_MAC = "000413aabbcc"
ACME_MAC = "001565a0c0e0"
DEVICE_PASSWORD = "Device-password-0123456789"
TENANT_SLUGS = ("default", "acme")
EXTENSIONS = ("201", "202", "203")


class Crash(AssertionError):
    """A 5xx, or an exception other than the domain's, where a 4xx was due; the
    server's exception, when it logged one, is the ``__cause__``."""


class _ServerErrors(logging.Handler):
    """Keeps the last exception aiohttp logged while answering 500."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = record.exc_info[1]

    def take(self) -> BaseException | None:
        last, self.last = self.last, None
        return last


SERVER_ERRORS = _ServerErrors()
logging.getLogger("aiohttp.server").addHandler(SERVER_ERRORS)


class PartialWrite(AssertionError):
    """A refused request changed the database."""


async def _resolve_loopback_only(host: str, port: int) -> None:
    """Fuzzed carrier hosts must not reach a DNS server: only loopback names resolve."""
    if host not in ("localhost", "127.0.0.1", "::1"):
        raise OSError(f"{host}: not resolved while fuzzing")


@dataclass(frozen=True, slots=True)
class Seeded:
    """A seeded environment's data directory (settings, secret key, database) and the
    secrets the seeding handed out, to start other environments from a copy of it."""

    directory: Path
    tokens: dict[str, str]
    bootstrap_password: str


@dataclass
class FuzzEnv:
    directory: Path
    migrated: Path | None = None
    """An SQLite file with the schema already applied, copied instead of migrating."""
    seeded: Seeded | None = None
    """Copied instead of migrating and seeding (the tests start dozens of environments)."""
    platform: Platform = field(init=False)
    base: str = field(init=False)
    tokens: dict[str, str] = field(init=False, default_factory=dict)
    bootstrap_password: str = field(init=False, default="")
    _stack: AsyncExitStack = field(init=False, default_factory=AsyncExitStack)
    _server: TestServer | None = field(init=False, default=None)
    _session: aiohttp.ClientSession | None = field(init=False, default=None)
    _baseline: Path = field(init=False)
    _source: int = field(init=False, default=0)
    _state: dict[str, str] | None = field(init=False, default=None)

    @property
    def db_file(self) -> Path:
        return self.directory / "provd.sqlite3"

    async def start(self) -> None:
        if self.seeded is not None:
            shutil.copytree(self.seeded.directory, self.directory, dirs_exist_ok=True)
            self.tokens = dict(self.seeded.tokens)
            self.bootstrap_password = self.seeded.bootstrap_password
            self._platform()
        else:
            await self._migrate_and_seed()
        self._baseline = self.directory / "baseline.sqlite3"
        shutil.copy(self.db_file, self._baseline)
        await self._open()

    def as_seeded(self) -> Seeded:
        """This environment as it was seeded (call before any request changes it)."""
        return Seeded(self.directory, dict(self.tokens), self.bootstrap_password)

    def _platform(self) -> None:
        self.platform = Platform(self.directory, SETTINGS, SecretBox.load_or_create(self.directory))
        self.platform.resolve_host = _resolve_loopback_only

    async def _migrate_and_seed(self) -> None:
        save_settings(self.directory, SETTINGS)
        if self.migrated is not None:
            shutil.copy(self.migrated, self.db_file)
        else:
            await upgrade_schema(db_url_for(self.directory))
        await self._stack.enter_async_context(database(db_url_for(self.directory)))
        self._platform()
        await self._seed()
        await self._close_db()

    async def _seed(self) -> None:
        p = self.platform
        for slug in TENANT_SLUGS:
            _, credential = await tenants.add_tenant(p, ACTOR, slug)
            if slug == "default":
                self.bootstrap_password = credential.password
        for slug in TENANT_SLUGS:
            for ext in EXTENSIONS[:2]:
                await users.add_user(p, ACTOR, slug, ext, f"User {ext}")
        await devices.add_device(
            p, ACTOR, YEALINK_MAC, "yealink-t46g", users=["201"], password=DEVICE_PASSWORD
        )
        await devices.add_device(
            p, ACTOR, SNOM_MAC, "snom-d785", users=["202"], password=DEVICE_PASSWORD
        )
        await devices.add_device(p, ACTOR, ACME_MAC, "yealink-t48g", tenant_slug="acme")
        scope = await layouts.resolve_scope(tenant="default")
        await layouts.set_key(ACTOR, scope, "yealink-t46g", "line:2", "blf", target="202")
        self.tokens = {
            "admin": await tokens.create_token(ACTOR, "fuzz-admin"),
            "tenant-admin": await tokens.create_token(
                ACTOR, "fuzz-tenant-admin", role="tenant-admin", tenant_slug="default"
            ),
            "installer": await tokens.create_token(
                ACTOR, "fuzz-installer", role="installer", tenant_slug="default"
            ),
        }

    async def _close_db(self) -> None:
        await self._stack.aclose()
        self._stack = AsyncExitStack()

    async def _open(self) -> None:
        await self._stack.enter_async_context(database(db_url_for(self.directory)))
        # A new app each time: the phone path's caches must not outlive the data.
        self._server = TestServer(
            make_app(self.platform, build_provisioner(self.platform)), host="127.0.0.1"
        )
        await self._server.start_server()
        self.base = f"http://127.0.0.1:{self._server.port}"
        self._session = aiohttp.ClientSession(base_url=self.base)

    async def _shut(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._server is not None:
            await self._server.close()
            self._server = None
        await self._close_db()

    async def reset(self) -> None:
        """Back to the seeded fleet, so that a long run does not grow the tables it dumps."""
        self._state = None
        await self._shut()
        shutil.copy(self._baseline, self.db_file)
        await self._open()

    async def stop(self) -> None:
        await self._shut()

    # -- the database's state ----------------------------------------------------------

    async def snapshot(self) -> dict[str, str]:
        """Every table's rows, hashed per table (the volatile columns left out)."""
        conn = connections.get("default")
        names = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        out = {}
        for row in names:
            table = row["name"]
            rows = await conn.execute_query_dict(f'SELECT * FROM "{table}" ORDER BY rowid')
            skip = _VOLATILE.get(table, set())
            dump = repr([[v for k, v in r.items() if k not in skip] for r in rows])
            out[table] = (
                f"{len(rows)}:{hashlib.sha1(dump.encode(errors='surrogatepass')).hexdigest()}"
            )
        return out

    def forget_state(self) -> None:
        """Called before each request: unless it is refused, it may change anything."""
        self._state = None

    async def state(self) -> dict[str, str]:
        """The snapshot before a request: the one taken after the previous request
        when that one was refused (and so changed nothing), else a new one."""
        if self._state is None:
            self._state = await self.snapshot()
        return self._state

    async def unchanged_since(self, before: dict[str, str], what: str) -> None:
        after = self._state = await self.snapshot()
        if after != before:
            changed = sorted(t for t in after if after[t] != before.get(t))
            raise PartialWrite(f"{what}: refused, yet changed {', '.join(changed)}")

    # -- HTTP --------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None
        return self._session

    def next_source(self) -> str:
        """A loopback address for the next phone request: the phone path blocks an
        address after repeated failures, which would leave the rest of a run testing
        nothing but the block."""
        self._source += 1
        n = self._source % (254 * 254)
        return f"127.{1 + n // 254}.{1 + n % 254}.{1 + self._source // (254 * 254) % 250}"

    async def raw_request(self, head: bytes, source: str) -> tuple[int, bytes, bytes]:
        """Send ``head`` (request line and headers, no body) on a new connection from
        ``source``; the status, the response head and body, read until the server closes."""
        assert self._server is not None
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self._server.port, local_addr=(source, 0)
        )
        try:
            writer.write(head)
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 30)
        finally:
            writer.close()
            await writer.wait_closed()
        head_end = data.find(b"\r\n\r\n")
        first = data.split(b"\r\n", 1)[0].split(b" ")
        if len(first) < 2 or not first[1].isdigit():
            raise Crash(f"no HTTP response: {data[:200]!r}")
        return int(first[1]), data[:head_end], data[head_end + 4 :]


class Driver:
    """Runs a :class:`FuzzEnv` on an event loop of its own, for synchronous callers."""

    def __init__(
        self, directory: Path, migrated: Path | None = None, seeded: Seeded | None = None
    ) -> None:
        self.env = FuzzEnv(directory, migrated, seeded)
        self._runner = asyncio.Runner()

    def __enter__(self) -> Driver:
        self._runner.__enter__()
        try:
            self.run(self.env.start())
        except BaseException:
            # An open database keeps a non-daemon thread that would hang the process.
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self.env.stop())
        finally:
            self._runner.__exit__(None, None, None)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def check(
        self,
        target: Callable[[FuzzEnv, Any], Awaitable[None]],
        value: Any,
        *,
        tolerate_known: bool = False,
    ) -> None:
        """``tolerate_known``: let the crashes listed in ``targets.KNOWN`` pass."""

        async def go() -> None:
            await target(self.env, value)

        try:
            self.run(go())
        except Exception as e:
            if not (tolerate_known and known(e) is not None):
                raise


# -- CSV import through the service ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvImport:
    data: bytes | str
    tenant: str | None
    dry_run: bool


def _as_bytes(data: bytes | str) -> bytes:
    # Every caller (API, console, CLI) reads the file as bytes.
    return data if isinstance(data, bytes) else data.encode("utf-8", errors="replace")


csv_imports = st.builds(
    CsvImport,
    csv_files().map(_as_bytes),
    st.one_of(st.none(), st.sampled_from((*TENANT_SLUGS, "nope", " ACME "))),
    st.booleans(),
)


async def check_csv_import(env: FuzzEnv, call: CsvImport) -> None:
    before = await env.state()
    env.forget_state()
    try:
        result = await device_csv.import_devices(
            env.platform, ACTOR, call.data, tenant=call.tenant, dry_run=call.dry_run
        )
    except (InvalidInput, NotFound):
        await env.unchanged_since(before, "CSV import")
        return
    if call.dry_run:
        await env.unchanged_since(before, "CSV import, dry run")
    else:
        after = await env.snapshot()
        # All or nothing: what was reported added is exactly what is new.
        count = int(after["device"].split(":")[0]) - int(before["device"].split(":")[0])
        if count != result.count("add"):
            raise PartialWrite(f"CSV import reported {result.count('add')} added, wrote {count}")


# -- layout import through the service -------------------------------------------------

_KEY_NAMES = st.sampled_from(("line:1", "line:2", "line:27", "exp:1:1", "exp:2:40", "line:0", "x"))
_FUNCTIONS = st.sampled_from(("line", "blf", "speed_dial", "url", "dtmf", "none", "BLF", "fly"))


def json_values(leaves: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """JSON documents: any scalar (huge integers, floats that JSON cannot spell, awkward
    text), nested in lists and objects."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from((0, -1, 2**31, 2**63, -(2**63) - 1, 10**30)),
        st.floats(),
        text(30),
    )
    if leaves is not None:
        scalars = st.one_of(leaves, scalars)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(text(8), inner, max_size=4)
        ),
        max_leaves=12,
    )


_key_entry = st.one_of(
    st.fixed_dictionaries(
        {"key": _KEY_NAMES, "function": _FUNCTIONS},
        optional={
            "target": st.one_of(
                st.sampled_from(("201", "202", "+3120", "https://x.test/")), text(12)
            ),
            "label": text(20),
            "locked": st.one_of(st.booleans(), json_values()),
            "extra": json_values(),
        },
    ),
    json_values(),
)
_page = st.one_of(
    st.fixed_dictionaries(
        {
            "module": st.one_of(st.integers(-1, 4), json_values()),
            "page": st.one_of(st.integers(-1, 4), json_values()),
            "description": text(80),
        }
    ),
    json_values(),
)
layout_documents = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "model": st.one_of(st.sampled_from(MODEL_IDS), json_values()),
            "keys": st.one_of(st.lists(_key_entry, max_size=6), json_values()),
            "pages": st.one_of(st.lists(_page, max_size=3), json_values()),
        },
    ),
    json_values(),
)
_scopes = st.one_of(
    st.sampled_from(
        (
            {"platform": True},
            {"tenant": "default"},
            {"tenant": "acme"},
            {"user": "201"},
            {"user": "acme/202"},
            {"device": YEALINK_MAC},
            {"device": SNOM_MAC},
            {"tenant": "nope"},
            {"platform": True, "tenant": "default"},
            {},
        )
    ),
    st.fixed_dictionaries({}, optional={"tenant": text(10), "user": text(10), "device": macs}),
)


@dataclass(frozen=True, slots=True)
class LayoutImport:
    scope: dict[str, Any]
    data: Any


layout_imports = st.builds(LayoutImport, _scopes, layout_documents)


async def check_layout_import(env: FuzzEnv, call: LayoutImport) -> None:
    before = await env.state()
    env.forget_state()
    try:
        scope = await layouts.resolve_scope(**call.scope)
        await layouts.import_layout(ACTOR, scope, call.data)
    except (InvalidInput, NotFound):
        await env.unchanged_since(before, "layout import")


# -- every API operation with a body ---------------------------------------------------

# Values that name the seeded objects, by the field or parameter that takes them.
_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "mac": st.one_of(st.sampled_from((YEALINK_MAC, SNOM_MAC, ACME_MAC)), macs),
    "device": st.one_of(st.sampled_from((YEALINK_MAC, SNOM_MAC)), macs),
    "devices": st.one_of(
        st.lists(st.sampled_from((YEALINK_MAC, SNOM_MAC, "zz")), max_size=3),
        st.just(f"{YEALINK_MAC},{SNOM_MAC}"),
    ),
    "model": st.sampled_from((*MODEL_IDS, "Yealink-T46G", "t46g")),
    "tenant": st.sampled_from((*TENANT_SLUGS, "nope", "ACME")),
    "slug": st.sampled_from((*TENANT_SLUGS, "new-one", "-bad-", "x" * 41)),
    "extension": st.sampled_from((*EXTENSIONS, "1", "999999", "\uff12\uff10\uff11")),
    "users": st.lists(st.sampled_from((*EXTENSIONS, "")), max_size=4),
    "name": st.sampled_from(("Front desk", "", " ", "=1+2", "a" * 200)),
    "key": _KEY_NAMES,
    "function": _FUNCTIONS,
    "module": st.integers(-1, 4),
    "page": st.integers(-1, 4),
    "vlan_lan": st.sampled_from(("10", "10:7", "off", "inherit", "4095", "0", "1:8")),
    "vlan_pc": st.sampled_from(("20", "off", "inherit")),
    "lldp": st.sampled_from(("on", "off", "inherit", "maybe")),
    "sip_proxy": st.sampled_from(
        ("default", "sip.example.test:5061", "h:0", "h:99999", "[::1]:5060")
    ),
    "pickup_code": st.sampled_from(("*8", "", "**", "#" * 40)),
    "timezone": st.sampled_from(("Europe/Amsterdam", "UTC", "Mars/Base", "../../etc/passwd")),
    "version": st.sampled_from(("28.83.0.120", "10.1.33.33", "")),
    "sha256": st.sampled_from(("0" * 64, "ab" * 32, "zz")),
    "batch": st.integers(-1, 20),
    "canary": st.integers(-1, 20),
    "concurrency": st.integers(-1, 20),
    "timeout": st.integers(-1, 10**6),
    "keys": st.lists(_key_entry, max_size=4),
    "pages": st.lists(_page, max_size=3),
    "id": st.sampled_from(("1", "0", "999", "-1", "x", "1e3")),
    "platform": st.sampled_from(("1", "true", "0")),
    "user": st.sampled_from(("201", "acme/201", "nope/1")),
    "dry_run": st.sampled_from(("1", "no")),
}


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    content_type: str | None
    properties: tuple[str, ...]
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    documented_5xx: frozenset[int]


def _schema(ref: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref:
        return dict(openapi.document()["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]])
    return ref


def operations() -> tuple[Operation, ...]:
    """Every POST, PATCH and PUT of the OpenAPI document, which make_app fills in."""
    found = []
    for path, ops in openapi.document()["paths"].items():
        for method, op in ops.items():
            if method not in ("post", "patch", "put"):
                continue
            content = op.get("requestBody", {}).get("content", {})
            content_type = next(iter(content), None)
            schema = _schema(content[content_type]["schema"]) if content_type else {}
            params = op.get("parameters", [])
            found.append(
                Operation(
                    method.upper(),
                    path,
                    content_type,
                    tuple(schema.get("properties", {})),
                    tuple(p["name"] for p in params if p["in"] == "path"),
                    tuple(p["name"] for p in params if p["in"] == "query"),
                    frozenset(int(s) for s in op["responses"] if s.startswith("5")),
                )
            )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class ApiCall:
    operation: Operation
    role: str
    path_args: dict[str, str]
    query: dict[str, str]
    body: bytes
    content_type: str | None

    def __repr__(self) -> str:
        return (
            f"ApiCall({self.operation.method} {self.url}, role={self.role}, "
            f"content_type={self.content_type!r}, body={self.body[:300]!r})"
        )

    @property
    def url(self) -> str:
        path = self.operation.path
        for name, value in self.path_args.items():
            path = path.replace("{" + name + "}", quote(value, safe="", errors="surrogatepass"))
        query = urlencode(self.query, errors="surrogatepass")
        return path + ("?" + query if query else "")


# Bodies a JSON parser can choke on in other ways than a syntax error.
_NASTY_BODIES = (
    b"",
    b"[" * 100_000,
    b'{"a":' * 50_000,
    b"1" * 5000,
    b"1e999999",
    b'"\\ud800"',
    b'{"slug": "\\u0000"}',
    b"\xff\xfe{\x00}\x00",
    b"\xef\xbb\xbf{}",
    b"NaN",
    b"{}" + b" " * 10,
    b'{"mac": "0015654aa937", "mac": "000413aabbcc"}',
)


def _json_body(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", errors="surrogatepass")


_JSON = json_values()
_TEXT = {n: text(n) for n in (8, 10, 12, 16)}
_CSV = csv_files()
_ROLES = st.sampled_from(("admin", "admin", "tenant-admin", "installer"))
_OTHER_TYPES = st.sampled_from((None, "application/json", "text/plain", "multipart/form-data"))


def _cached(build: Callable[[str], st.SearchStrategy[Any]]) -> Callable[[str], Any]:
    # Building a strategy costs more than drawing from it: once per name.
    cache: dict[str, st.SearchStrategy[Any]] = {}

    def get(name: str) -> st.SearchStrategy[Any]:
        if name not in cache:
            cache[name] = build(name)
        return cache[name]

    return get


_field_value = _cached(lambda name: st.one_of(_PLAUSIBLE.get(name, _TEXT[12]), _JSON))
_path_value = _cached(
    lambda name: st.one_of(_PLAUSIBLE.get(name, st.nothing()).map(str), _TEXT[16])
)
_query_value = _cached(
    lambda name: st.one_of(_PLAUSIBLE.get(name, st.nothing()).map(str), _TEXT[10])
)


@st.composite
def api_calls(draw: st.DrawFn, ops: tuple[Operation, ...] | None = None) -> ApiCall:
    op = draw(st.sampled_from(ops or operations()))
    path_args = {name: draw(_path_value(name)) for name in op.path_params}
    names = draw(st.lists(st.sampled_from(op.query_params), unique=True)) if op.query_params else []
    query = {name: draw(_query_value(name)) for name in names}

    kind = draw(st.integers(0, 9))
    if op.content_type in (None, "application/json") and kind < 6:
        # The documented fields with plausible or arbitrary values, sometimes one more.
        fields = (
            draw(st.lists(st.sampled_from(op.properties), unique=True)) if op.properties else []
        )
        value: Any = {name: draw(_field_value(name)) for name in fields}
        if draw(st.integers(0, 4)) == 0:
            value[draw(_TEXT[8])] = draw(_JSON)
        body = _json_body(value, draw(st.booleans()))
    elif kind < 8:
        body = _json_body(draw(_JSON), draw(st.booleans()))
    elif kind == 8:
        body = draw(st.sampled_from(_NASTY_BODIES))
    else:
        body = draw(st.binary(max_size=200))
    if op.content_type == "text/csv" and kind < 8:
        csv_body = draw(_CSV)
        body = csv_body if isinstance(csv_body, bytes) else csv_body.encode("utf-8", "replace")
    content_type = draw(st.one_of(st.just(op.content_type), _OTHER_TYPES))
    return ApiCall(op, draw(_ROLES), path_args, query, body, content_type)


async def send_api(env: FuzzEnv, call: ApiCall) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {env.tokens[call.role]}"}
    data: Any = call.body
    if (
        call.content_type == "multipart/form-data"
        and call.operation.content_type == call.content_type
    ):
        form = aiohttp.FormData()
        form.add_field("image", call.body, filename="x.png", content_type="image/png")
        form.add_field("file", call.body, filename="x.csv", content_type="text/csv")
        data = form
    elif call.content_type is not None:
        headers["Content-Type"] = call.content_type
    async with env.session.request(
        call.operation.method,
        call.url,
        data=data,
        headers=headers,
        skip_auto_headers=["Content-Type"],
    ) as response:
        return response.status, await response.read()


async def check_api(env: FuzzEnv, call: ApiCall) -> None:
    SERVER_ERRORS.take()
    before = await env.state()
    env.forget_state()
    try:
        status, body = await send_api(env, call)
    except aiohttp.ClientError as e:
        raise Crash(f"{call!r}: {type(e).__name__}: {e}") from None
    if status >= 500 and status not in call.operation.documented_5xx:
        raise Crash(f"{call!r}: {status} {body[:300]!r}") from SERVER_ERRORS.take()
    if 400 <= status < 600:
        await env.unchanged_since(before, f"{call!r}: {status}")


# -- the phone path --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhoneCall:
    path: bytes
    """The request target as sent, raw."""
    user_agent: bytes | None
    authorization: bytes | None
    sign_as: str | None
    """``device`` (the Yealink), ``snom`` or ``bootstrap``: replace ``authorization``
    by a correct Digest answer with that credential, after fetching a challenge."""
    method: bytes = b"GET"


def _raw(s: str) -> bytes:
    # Lone surrogates become the invalid UTF-8 a client can send.
    return s.encode("utf-8", errors="surrogatepass")


def _header_value(b: bytes) -> bytes:
    # Line breaks would start another header or request: not what is fuzzed here.
    return b.replace(b"\r", b"").replace(b"\n", b"")


_CONTROLS = bytes(c for c in range(0x20) if c != 0x09) + b"\x7f"


def _legal_header(b: bytes) -> bytes:
    # aiohttp answers 400 to a header with control characters before provd sees it:
    # most values leave them out, so that provd's own parsing is what gets fuzzed.
    return b.translate(None, _CONTROLS)


_header_bytes = st.one_of(
    text(60).map(_raw).map(_legal_header),
    st.one_of(text(60).map(_raw), st.binary(max_size=60)).map(_header_value),
)
# The seeded phones' own files: where a signed request gets past authentication.
_FLEET_FILES = (
    f"/{YEALINK_MAC}.boot",
    f"/{YEALINK_MAC}.cfg",
    f"/{YEALINK_MAC.upper()}.cfg",
    "/y000000000028.cfg",
    "/y000000000000.boot",
    f"/snomD785-{SNOM_MAC.upper()}.htm",
    f"/snomD785-{SNOM_MAC}.htm",
    f"/{SNOM_MAC.upper()}.xml",
    f"/snomD785-{SNOM_MAC.upper()}-firmware.xml",
    "/snomD785.htm",
    "/snomD785.xml",
    f"/{ACME_MAC}.cfg",
)
_PHONE_UAS = (
    f"Yealink SIP-T46G 28.83.0.120 {YEALINK_MAC}",
    "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:38",
    "Yealink SIP-T48G 35.83.0.10 00:15:65:a0:c0:e0",
    f"Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12 {SNOM_MAC.upper()} SXM:0 UXM:2)",
    f"Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12 {SNOM_MAC.upper()} UXM:999)",
    f"Mozilla/4.0 (compatible; snomD385-SIP 10.1.33.33 2010.12 {SNOM_MAC.upper()} UXMC:1)",
)
_phone_uas = st.one_of(
    st.none(),
    st.sampled_from(_PHONE_UAS).map(str.encode),
    user_agents.map(_raw).map(_legal_header),
    _header_bytes,
)
# Signed requests for the seeded phones' files: past authentication into the lookup,
# the rendering and what a phone's report writes.
_fleet_calls = st.builds(
    PhoneCall,
    path=st.sampled_from(_FLEET_FILES).map(str.encode),
    user_agent=_phone_uas,
    authorization=st.none(),
    sign_as=st.sampled_from(("device", "snom", "bootstrap")),
    method=st.sampled_from((b"GET", b"HEAD")),
)
_any_calls = st.builds(
    PhoneCall,
    path=st.one_of(
        st.sampled_from(_FLEET_FILES).map(str.encode),
        st.text(alphabet=ROUTE_ALPHABET, min_size=1, max_size=64).map(lambda s: b"/" + s.encode()),
        file_names.map(lambda n: b"/" + _raw(n)),
        st.sampled_from(
            (
                "/../provd.sqlite3",
                "/%2e%2e/provd.sqlite3",
                f"/{YEALINK_MAC}.cfg?x=1",
                "//" + YEALINK_MAC + ".cfg",
                "/firmware/" + "0" * 64 + "/fw.rom",
            )
        ).map(str.encode),
        st.text(alphabet=ROUTE_ALPHABET + "/%?#&=", max_size=80).map(lambda s: b"/" + s.encode()),
    ),
    user_agent=_phone_uas,
    authorization=st.one_of(
        st.none(),
        st.sampled_from(
            (
                b'Digest username="dev-0015654aa937", realm="provd", nonce="x", uri="/", '
                b'response="0"',
                b'Digest username="bootstrap-default", realm="provd", nonce="x", uri="/", '
                b'response="0"',
                b"Basic ZGV2OnB3",
            )
        ),
        _header_bytes,
    ),
    sign_as=st.sampled_from((None, None, "device", "snom", "bootstrap")),
    method=st.sampled_from((b"GET",) * 6 + (b"HEAD", b"POST", b"G\x00T")),
)
phone_calls = st.one_of(_fleet_calls, _any_calls)


def _request(call: PhoneCall, authorization_value: bytes | None) -> bytes:
    lines = [
        call.method + b" " + call.path + b" HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Connection: close",
    ]
    if call.user_agent is not None:
        lines.append(b"User-Agent: " + call.user_agent)
    if authorization_value is not None:
        lines.append(b"Authorization: " + authorization_value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _signed(env: FuzzEnv, call: PhoneCall, source: str) -> bytes | None:
    """A correct Digest answer for ``call``, or None when the path gets no challenge."""
    status, head, _ = await env.raw_request(
        _request(PhoneCall(b"/y000000000028.cfg", None, None, None), None), source
    )
    challenge = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"www-authenticate:")
        ),
        None,
    )
    if status != 401 or challenge is None:
        return None
    try:
        uri = call.path.decode("ascii")
        method = call.method.decode("ascii")
    except UnicodeDecodeError:
        return None
    if call.sign_as in ("device", "snom"):
        mac = YEALINK_MAC if call.sign_as == "device" else SNOM_MAC
        user, password = f"dev-{mac}", DEVICE_PASSWORD
    else:
        user, password = "bootstrap-default", env.bootstrap_password
    return authorization(parse_challenge(challenge), user, password, method, uri).encode()


async def check_phone(env: FuzzEnv, call: PhoneCall) -> None:
    SERVER_ERRORS.take()
    source = env.next_source()
    value = call.authorization
    signed = False
    if call.sign_as is not None and (answer := await _signed(env, call, source)) is not None:
        value, signed = answer, True
    before = await env.state()
    env.forget_state()
    try:
        status, _, body = await env.raw_request(_request(call, value), source)
    except (ConnectionError, TimeoutError) as e:
        raise Crash(f"{call!r}: {type(e).__name__}: {e}") from None
    if status >= 500:
        raise Crash(f"{call!r}: {status} {body[:300]!r}") from SERVER_ERRORS.take()
    # An authenticated phone may report its key modules on the way to a 404.
    if status != 200 and not (signed and status == 404):
        await env.unchanged_since(before, f"{call!r}: {status}")
