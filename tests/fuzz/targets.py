"""Fuzz targets for the pure parsers, with their hypothesis strategies and seeds.

A target is a ``check`` that raises when a property fails. For a pure parser the
property is: bad input ends in the domain's error type (``InvalidInput``) or in
the parser's documented "no" (None), never in any other exception; and what is
accepted comes out in canonical form. The tests here feed the checks from the
strategies; ``bench/fuzz.py`` also feeds them from :class:`Mutator`, which is
two orders of magnitude faster than hypothesis for the million-input run.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from provd.domain.device_csv import COLUMNS, parse_file
from provd.domain.errors import InvalidInput
from provd.domain.keys import KeyFunction, KeyLocation, KeySpec, check_spec, parse_function
from provd.domain.mac import parse_mac, try_parse_mac, upper, with_colons
from provd.drivers import registry
from provd.drivers.registry import CATALOGUE, MODELS, get_model
from provd.security.digest import (
    MAX_HEADER_LENGTH,
    DigestAuthenticator,
    DigestCredentials,
    parse_authorization,
)
from tests.hypothesis_profiles import examples

# -- settings ---------------------------------------------------------------------------

_QUIET = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]


def ci_settings(max_examples: int) -> settings:
    """Bounded and derandomized: CI sees the same examples every run, so a red build
    is a regression, not a lucky draw. The long, random run is ``bench/fuzz.py``.
    ``max_examples`` is the full run's; the quick tier runs fewer (``examples``)."""
    return settings(
        max_examples=examples(max_examples),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=_QUIET,
    )


def long_settings(max_examples: int) -> settings:
    """For the long run: random (seed it with ``hypothesis.seed``), and no shrinking,
    since its checks count failures instead of raising them."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[*_QUIET, HealthCheck.differing_executors],
        phases=[Phase.explicit, Phase.generate],
    )


# -- crashes found and handed over ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Known:
    """A crash found by this suite in code another change is fixing: the tests here
    tolerate it (``test_known.py`` pins it with a strict xfail, so that its fix is
    noticed), while ``bench/fuzz.py`` still counts it as a crash."""

    name: str
    exception: type[BaseException]
    file: str
    """Where it is raised: the innermost provd frame, as a path ending."""
    function: str


# Crashes found and handed over rather than fixed where they were found: a strict xfail
# each in test_known.py. None is open; fixed ones became regression tests.
KNOWN: tuple[Known, ...] = ()


def provd_frame(error: BaseException) -> tuple[str, str, int]:
    """The innermost frame of provd's own code in ``error``'s traceback."""
    import traceback

    found = ("?", "?", 0)
    for frame in traceback.extract_tb(error.__traceback__):
        if "/provd/" in frame.filename:
            found = (frame.filename.split("/provd/", 1)[1], frame.name, frame.lineno or 0)
    return found


def known(error: BaseException) -> Known | None:
    """The known crash ``error`` is (or was caused by, for a 500 seen from outside)."""
    for candidate in (error, error.__cause__):
        if candidate is None:
            continue
        file, function, _ = provd_frame(candidate)
        for k in KNOWN:
            if isinstance(candidate, k.exception) and (file, function) == (k.file, k.function):
                return k
    return None


def tolerating_known(check: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(value: Any) -> None:
        try:
            check(value)
        except Exception as e:
            if known(e) is None:
                raise

    return run


# -- shared alphabets and pieces --------------------------------------------------------

# Control characters (C0, DEL, C1), separators, look-alike digits and letters whose
# case mapping changes length, a lone surrogate (a surrogateescape-decoded header
# byte), a BOM and an emoji: what makes a parser that is right for ASCII go wrong.
AWKWARD = (
    "".join(chr(c) for c in range(0x20))
    + "\x7f\x80\x85\x9b\x9f\xa0\xad\xff"
    + "\u0130\u0131\u212a\u017f\u00df\ufb00"
    + "\u0660\u0663\u06f3\u0966\uff10\uff21"
    + "\u2028\u2029\u200b\u2003\u3000\ufeff\ufffd"
    + "\ud800\udcff\U0001f600"
)
PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " "
FUZZ_ALPHABET = PRINTABLE + AWKWARD

MODEL_IDS = tuple(m.id for m in MODELS)
MAC_SAMPLES = ("0015654aa937", "000413aabbcc", "001565a0c0e0", "0015652b3c4d")

_hex = "0123456789abcdefABCDEF"


def format_mac(raw: bytes, style: int) -> str:
    h = raw.hex()
    return (
        h,
        h.upper(),
        ":".join(h[i : i + 2] for i in range(0, 12, 2)),
        "-".join(h[i : i + 2] for i in range(0, 12, 2)).upper(),
        ".".join(h[i : i + 4] for i in range(0, 12, 4)),
        " " + h + "\t",
    )[style % 6]


def text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any text, with the awkward characters much more likely than at random."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=FUZZ_ALPHABET, max_size=max_size),
    )


macs = st.one_of(
    st.builds(format_mac, st.binary(min_size=6, max_size=6), st.integers(0, 5)),
    st.sampled_from(MAC_SAMPLES),
    st.text(alphabet=_hex + ":.- \t\n\u00a0\u2003\u0660\uff10", max_size=24),
    text(24),
)


# -- MAC --------------------------------------------------------------------------------

_CANONICAL_MAC = re.compile(r"[0-9a-f]{12}")


def check_mac(value: str) -> None:
    try:
        mac = parse_mac(value)
    except InvalidInput:
        assert try_parse_mac(value) is None
        return
    assert _CANONICAL_MAC.fullmatch(mac), mac
    assert parse_mac(with_colons(mac)) == mac == parse_mac(upper(mac)) == try_parse_mac(value)


# -- User-Agent -------------------------------------------------------------------------

_FIRMWARES = ("28.83.0.120", "10.1.33.33", "8.7.5.35", "1", "9" * 12, "1..2", "")
_YEALINK_MODELS = ("T46G", "T48G", "T54W", "SIP-T46G", "VP-T49G", "W52P", "")
_SNOM_MODELS = ("D785", "D385", "870", "710", "d315", "")


def _yealink_ua(model: str, firmware: str, tail: str, sep: str) -> str:
    return f"Yealink{sep}SIP-{model}{sep}{firmware}{sep}{tail}"


def _snom_ua(model: str, firmware: str, build: str, mac: str, extra: str) -> str:
    return f"Mozilla/4.0 (compatible; snom{model}-SIP {firmware} {build} {mac} {extra})"


_piece = st.one_of(st.sampled_from(("", " ", "(", ")", "SXM:0", "UXM:1", "UXMC:999")), text(20))

user_agents = st.one_of(
    text(120),
    st.builds(
        _yealink_ua,
        st.one_of(st.sampled_from(_YEALINK_MODELS), text(12)),
        st.one_of(st.sampled_from(_FIRMWARES), text(16)),
        st.one_of(macs, _piece),
        st.sampled_from((" ", "-", "  ", "\t", " - ")),
    ),
    st.builds(
        _snom_ua,
        st.one_of(st.sampled_from(_SNOM_MODELS), text(12)),
        st.one_of(st.sampled_from(_FIRMWARES), text(16)),
        st.one_of(st.just("2010.12-00004-g9ba52f5 (Feb 25 2019 - 14:19:43)"), _piece),
        st.one_of(macs.map(str.upper), _piece),
        st.lists(_piece, max_size=6).map(" ".join),
    ),
    # Over the length caps, where the regular expressions would otherwise work hardest.
    st.builds(
        lambda s, n: s * n,
        st.sampled_from(("Yealink ", "snomD785-SIP 1 ", "a ")),
        st.integers(100, 400),
    ),
)


def check_user_agent(ua: str) -> None:
    info = registry.parse_user_agent(ua)
    if info is not None:
        assert info.mac is None or parse_mac(info.mac) == info.mac
        assert info.expansion_modules is None or info.expansion_modules >= 0
        assert info.model_name == info.model_name.upper()
    for driver in registry.DRIVERS.values():
        found = driver.parse_user_agent(ua)
        assert found is None or found.vendor is driver.vendor
        firmware = driver.sip_firmware(ua)
        assert firmware is None or isinstance(firmware, str)


# -- requested file names (the phone path's lookup) -------------------------------------

ROUTE_ALPHABET = string.ascii_letters + string.digits + "._-"
_FILE_TEMPLATES = (
    "{mac}.cfg",
    "{mac}.boot",
    "{MAC}.xml",
    "y000000000000.boot",
    "y0000000000{n}.cfg",
    "snom{model}.htm",
    "snom{model}.xml",
    "snom{model}-{MAC}.htm",
    "snom{model}-{MAC}-firmware.xml",
)


def _file_name(template: str, mac: str, model: str, n: str) -> str:
    return template.format(mac=mac, MAC=mac.upper(), model=model, n=n)


file_names = st.one_of(
    st.text(alphabet=ROUTE_ALPHABET, min_size=1, max_size=64),
    st.builds(
        _file_name,
        st.sampled_from(_FILE_TEMPLATES),
        st.one_of(macs, st.text(alphabet=ROUTE_ALPHABET, max_size=14)),
        st.one_of(st.sampled_from(("D785", "d385", "D315", "870", "X")), text(8)),
        st.one_of(st.sampled_from(("28", "29", "66", "96", "00")), text(4)),
    ),
    text(80),
)


def check_file_name(name: str) -> None:
    found = registry.classify(name)
    if found is None:
        return
    driver, request = found
    assert request.mac is None or parse_mac(request.mac) == request.mac
    # The canonical spelling names the same file: caches and seals key on it.
    again = driver.classify(request.filename)
    assert again == request, (request, again)


# -- digest Authorization header --------------------------------------------------------

_AUTHENTICATOR = DigestAuthenticator(b"fuzz-key-0123456789abcdef", "provd")
_PARAM_NAMES = (
    "username",
    "username*",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "qop",
    "nc",
    "cnonce",
    "opaque",
    "userhash",
)


def _quote(value: str, style: int) -> str:
    if style == 0:
        return value  # bare
    if style == 1:
        return '"' + value + '"'  # quoted as is, even where it must not be
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped + '"'


def _digest_header(scheme: str, params: list[tuple[str, str, int]], sep: str) -> str:
    return scheme + " " + sep.join(f"{n}={_quote(v, q)}" for n, v, q in params)


_param_value = st.one_of(
    st.sampled_from(
        (
            "provd",
            "auth",
            "auth-int",
            "MD5",
            "SHA-256",
            "sha-256-sess",
            "00000001",
            "ffffffff",
            "0",
            "true",
            "false",
            "/0015654aa937.cfg",
            "UTF-8''%C3%A9t%C3%A9",
            "utf-8'en'%FF",
            "dev-0015654aa937",
            "A" * 48,
        )
    ),
    text(30),
)
_param = st.tuples(
    st.one_of(st.sampled_from(_PARAM_NAMES), st.text(alphabet=ROUTE_ALPHABET + "*", max_size=10)),
    _param_value,
    st.integers(0, 2),
)
digest_headers = st.one_of(
    st.builds(
        _digest_header,
        st.sampled_from(("Digest", "digest", "DIGEST", " Digest", "Basic", "Digest\t", "")),
        st.lists(_param, max_size=14),
        st.sampled_from((", ", ",", " , ", ",,", " ", ",\t")),
    ),
    text(200),
    st.builds(
        lambda s, n: s * n,
        st.sampled_from(('Digest a="\\', "Digest a=b,", ",")),
        st.integers(1, 2000),
    ),
)


def check_digest_header(header: str) -> None:
    creds = parse_authorization(header)
    if creds is None:
        return
    assert len(header) <= MAX_HEADER_LENGTH
    for name in ("username", "realm", "nonce", "uri", "response", "algorithm"):
        assert isinstance(getattr(creds, name), str), name
    # What the parser lets through must be safe to verify: hashing must not fail to
    # encode, whoever the user is and whatever the request.
    for password in ("secret", None):
        _AUTHENTICATOR.verify(creds, method="GET", request_uri=creds.uri, password=password)
    _AUTHENTICATOR.verify(creds, method="HEAD", request_uri="/other", password="secret")


_header_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"),
        blacklist_characters="\x7f",
    ),
    max_size=30,
)


def digest_round_trip(values: dict[str, str], username: str) -> DigestCredentials | None:
    """A header written with every value quoted and escaped parses back to them."""
    params = {"username": username} | values
    header = "Digest " + ", ".join(f"{n}={_quote(v, 2)}" for n, v in params.items())
    return parse_authorization(header) if len(header) <= MAX_HEADER_LENGTH else None


digest_values = st.fixed_dictionaries(
    {
        "realm": _header_text,
        "nonce": _header_text,
        "uri": _header_text,
        "response": _header_text,
        "cnonce": _header_text,
    }
)
digest_usernames = _header_text


# -- CSV parsing ------------------------------------------------------------------------

_CELL_VALUES: dict[str, st.SearchStrategy[str]] = {
    "mac": macs,
    "model": st.one_of(st.sampled_from(MODEL_IDS), text(16)),
    "tenant": st.one_of(st.sampled_from(("default", "acme", "DEFAULT", "nope", "")), text(16)),
    "extension": st.one_of(st.sampled_from(("201", "202", "203", "")), text(8)),
    "lines": st.one_of(
        st.sampled_from(("2=202", "2=202;3=203", "1=201", "2=202,2=203", "99=1", "2 = 202")),
        text(20),
    ),
    "vlan_lan": st.one_of(
        st.sampled_from(("10", "4094:7", "off", "inherit", "0", "4095")), text(8)
    ),
    "vlan_pc": st.one_of(st.sampled_from(("20", "off", "", "1:8")), text(8)),
    "expansion_modules": st.one_of(st.sampled_from(("0", "1", "3", "6", "²", "-1")), text(6)),
    "name": st.one_of(st.sampled_from(("Desk", "'=1+2", "Desk;=1+2", "=HYPERLINK()")), text(40)),
}


@st.composite
def csv_files(draw: st.DrawFn) -> bytes | str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(st.binary(max_size=300), text(300)))
    header = draw(
        st.one_of(
            st.permutations(COLUMNS).flatmap(
                lambda cols: st.integers(2, len(cols)).map(lambda n: cols[:n])
            ),
            st.lists(st.one_of(st.sampled_from(COLUMNS), text(10)), max_size=10),
        )
    )
    if draw(st.booleans()) and "mac" not in header:
        header = ["mac", "model", *header]
    header = list(header)
    rows = [
        [draw(_CELL_VALUES.get(column, text(10))) for column in header]
        + draw(st.lists(text(5), max_size=1))
        for _ in range(draw(st.integers(0, 6)))
    ]
    delimiter = draw(st.sampled_from((",", ";", "\t", "|")))
    quote = draw(st.booleans())
    lines = []
    for cells in [header, *rows]:
        if quote:
            cells = ['"' + c.replace('"', '""') + '"' for c in cells]
        lines.append(delimiter.join(cells))
    body = draw(st.sampled_from(("\r\n", "\n", "\r"))).join(lines)
    encoding = draw(st.sampled_from(("str", "utf-8", "utf-8-sig", "cp1252", "utf-16")))
    if encoding == "str":
        return body
    return body.encode(encoding, errors="replace")


def check_csv_parse(data: bytes | str) -> None:
    try:
        parsed = parse_file(data, default_tenant="default", catalogue=CATALOGUE)
    except InvalidInput:
        return
    seen = set()
    for row in parsed.rows:
        assert parse_mac(row.mac) == row.mac
        assert row.model.id in MODEL_IDS
        # A MAC given twice is a row error (the row itself may still be listed).
        assert row.mac not in seen or parsed.errors, row.mac
        seen.add(row.mac)
    for error in parsed.errors:
        assert error.row >= 2 and error.column and error.message


# -- key layouts (the domain side of a layout import) -----------------------------------


@dataclass(frozen=True, slots=True)
class KeyEntry:
    key: str
    function: str
    target: str
    label: str
    locked: bool
    model: str
    modules: int


key_entries = st.builds(
    KeyEntry,
    key=st.one_of(
        st.sampled_from(
            ("line:1", "line:27", "exp:1:1", "exp:3:40", "line:0", "exp:0:1", "LINE : 2")
        ),
        st.builds("line:{}".format, st.integers()),
        st.builds("exp:{}:{}".format, st.integers(-2, 8), st.integers()),
        text(16),
    ),
    function=st.one_of(
        st.sampled_from([f.value for f in KeyFunction] + ["Speed-Dial", " BLF "]), text(12)
    ),
    target=st.one_of(
        st.sampled_from(("", "201", "202", "+31 20", "*97", "https://example.test/x", "1", "ABCD")),
        text(40),
    ),
    label=st.one_of(st.sampled_from(("", "Reception", "x" * 33)), text(40)),
    locked=st.booleans(),
    model=st.sampled_from(MODEL_IDS),
    modules=st.integers(0, 4),
)


def check_key_entry(entry: KeyEntry) -> None:
    try:
        location = KeyLocation.parse(entry.key)
        function = parse_function(entry.function)
        spec = check_spec(
            KeySpec(location, function, entry.target, entry.label, entry.locked),
            get_model(entry.model),
            entry.modules,
            extensions=("201", "202"),
        )
    except InvalidInput:
        return
    assert KeyLocation.parse(str(spec.location)) == spec.location
    # What check_spec cleaned is stored; a second check must accept it unchanged.
    model = get_model(entry.model)
    assert check_spec(spec, model, entry.modules, extensions=("201", "202")) == spec


# -- the registry of pure targets -------------------------------------------------------


@dataclass(frozen=True)
class PureTarget:
    name: str
    check: Callable[[Any], None]
    strategy: st.SearchStrategy[Any]
    seeds: Sequence[Any]
    """Valid or nearly valid inputs that :class:`Mutator` starts from."""


def _seed_headers() -> list[str]:
    from tests.digest_client import authorization

    challenge = {"realm": "provd", "nonce": "A" * 48, "opaque": "op", "algorithm": "MD5"}
    sha = challenge | {"algorithm": "SHA-256"}
    return [
        authorization(challenge, "dev-0015654aa937", "pw", "GET", "/0015654aa937.cfg"),
        authorization(sha, "bootstrap-default", "pw", "GET", "/y000000000028.cfg", nc=255),
        'Digest username*=UTF-8\'\'%C3%A9, realm="provd", nonce="n", uri="/", response="r"',
        'digest username="a\\"b", realm=provd, nonce=n, uri=/x?y=1, response=abc, userhash=false',
    ]


_CSV_SEED = (
    "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name\r\n"
    "0015654aa937,yealink-t46g,default,201,2=202,10,off,1,Front desk\r\n"
    "00:04:13:AA:BB:CC,snom-d785,,202,,inherit,,0,'=1+2\r\n"
)

PURE_TARGETS: tuple[PureTarget, ...] = (
    PureTarget(
        "mac",
        check_mac,
        macs,
        ["00:15:65:4A:A9:37", "0015.654a.a937", "00-04-13-AA-BB-CC", "001565aabbcc"],
    ),
    PureTarget(
        "user-agent",
        check_user_agent,
        user_agents,
        [
            "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37",
            "Yealink-T46G 28.83.0.120 1.0.0.1",
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00001-gd311851f1 "
            "(Feb 25 2019 - 14:19:43) 00041396D9B4 SXM:0 UXM:2 UXMC:1)",
            "snomD785/10.1.33.33",
        ],
    ),
    PureTarget(
        "file-name",
        check_file_name,
        file_names,
        [
            "0015654aa937.cfg",
            "0015654AA937.boot",
            "y000000000028.cfg",
            "y000000000000.boot",
            "snomD785-000413AABBCC.htm",
            "snomD785-000413AABBCC-firmware.xml",
            "000413AABBCC.xml",
            "snomD385.htm",
        ],
    ),
    PureTarget("digest-header", check_digest_header, digest_headers, _seed_headers()),
    PureTarget("csv-parse", check_csv_parse, csv_files(), [_CSV_SEED, _CSV_SEED.encode("cp1252")]),
    PureTarget(
        "key-spec",
        check_key_entry,
        key_entries,
        [
            KeyEntry("line:2", "blf", "202", "Reception", False, "yealink-t46g", 0),
            KeyEntry("exp:1:20", "speed_dial", "+3120555", "", True, "snom-d785", 2),
            KeyEntry("line:3", "url", "https://example.test/", "Web", False, "yealink-t54w", 1),
        ],
    ),
)


# -- the fast mutator for the long run --------------------------------------------------


class Mutator:
    """Random edits of seed inputs, for the long run: a few microseconds an input
    where hypothesis takes hundreds. Edits are byte- and character-level (flip,
    insert awkward characters, delete, repeat, splice two seeds, change case), as
    the inputs come off the network; entries of several fields mutate each field."""

    def __init__(self, rng: random.Random, seeds: Sequence[Any]) -> None:
        self._rng = rng
        self._seeds = list(seeds)

    def __call__(self) -> Any:
        seed = self._rng.choice(self._seeds)
        if isinstance(seed, KeyEntry):
            return self._entry(seed)
        if isinstance(seed, bytes):
            return self._bytes(seed)
        return self._text(seed)

    def _text(self, value: str) -> str:
        rng = self._rng
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5, 8))):
            n = len(value)
            i = rng.randrange(n + 1)
            op = rng.randrange(9)
            if op == 0 and n:
                value = value[:i] + rng.choice(FUZZ_ALPHABET) + value[i + 1 :]
            elif op == 1:
                count = rng.choice((1, 1, 2, 4))
                value = value[:i] + "".join(rng.choices(FUZZ_ALPHABET, k=count)) + value[i:]
            elif op == 2 and n:
                value = value[:i] + value[i + rng.randrange(1, 8) :]
            elif op == 3 and n:
                j = min(n, i + rng.randrange(1, 12))
                value = value[:i] + value[i:j] * rng.choice((2, 3, 50, 400)) + value[j:]
            elif op == 4:
                other = self._rng.choice(self._seeds)
                if isinstance(other, str):
                    value = value[:i] + other[rng.randrange(len(other) + 1) :]
            elif op == 5:
                value = value.swapcase() if rng.random() < 0.5 else value.upper()
            elif op == 6:
                value = value[:i]
            elif op == 7:
                value = value[:i] + rng.choice(",;=\"\\'\r\n\t :.-()") + value[i:]
            else:
                value = value[:i] + rng.choice(string.digits) * rng.randrange(1, 6) + value[i:]
        return value

    def _bytes(self, value: bytes) -> bytes:
        rng = self._rng
        data = bytearray(value)
        for _ in range(rng.choice((1, 2, 3, 6))):
            i = rng.randrange(len(data) + 1)
            op = rng.randrange(4)
            if op == 0 and data:
                data[min(i, len(data) - 1)] = rng.randrange(256)
            elif op == 1:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
            elif op == 2:
                del data[i : i + rng.randrange(1, 16)]
            else:
                data[i:i] = self._text(value[i : i + 20].decode("latin-1")).encode(
                    rng.choice(("utf-8", "utf-16", "latin-1")), errors="replace"
                )
        return bytes(data)

    def _entry(self, entry: KeyEntry) -> KeyEntry:
        rng = self._rng
        pick = rng.randrange(5)
        return KeyEntry(
            self._text(entry.key) if pick in (0, 4) else entry.key,
            self._text(entry.function) if pick in (1, 4) else entry.function,
            self._text(entry.target) if pick in (2, 4) else entry.target,
            self._text(entry.label) if pick in (3, 4) else entry.label,
            rng.random() < 0.5,
            rng.choice(MODEL_IDS),
            rng.randrange(5),
        )
