"""What is installed on each simulated counter PC: its Windows, processor and memory, its signing
bridges, and the clerk's USB token with its certificate (issue 23).

Drawn once per PC when the fleet is generated, from a stream of its own (seed, asset tag), so the
rest of the fleet stays as it was and the same seed gives the same PCs. The shares below are
assumptions: the domain notes the project was built from give the age mix of counter PCs (25 %
under 2 years, 25 % 2–5, 35 % 5–8, 15 % over 8, reused after the 2025 merger) and "Windows
10/11", but no share per Windows release. A PC keeps the Windows of its purchase year unless someone
upgraded it, so the mix follows age: with that age mix about 60 % Windows 10, a quarter Windows 11,
a tenth Windows 7 and a few Windows 8.1, close to StatCounter's worldwide desktop shares of
2022–23 (Windows 10 ~70 %, 11 ~16–24 %, 7 ~3–10 %, 8.1 ~1–3 %; via archyde.com, 12/2022 and
03/2023, ``[T]``). Processors follow age too, so that Windows 11 runs only where its requirements
allow it (``inventory/os_support.yaml`` ``windows11``).

Signing (DOMAIN.md §3.2): officials sign with a Government CA token (VGCA, Ban Cơ yếu Chính phủ,
through its VGCA Sign Service) or a VNPT-CA token (VNPT-CA Plugin, which also drives scanners in
VNPT iGate provinces); some staff with a token of another public CA (Viettel-CA, FPT-CA, BKAV-CA),
signing through the VNPT-CA Plugin, which signs with whatever certificate Windows holds. The
shares, and that bridge for the other CAs, are assumptions. Certificates live one to three
years and are renewed some weeks before they expire, so an ordinary run never comes within the
rule's 30 days (a fault does). Holder names follow the frequency of Vietnamese family names.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from agent.checks.host.facts import FACT_MAX_CHARS
from agent.checks.host.osinfo import WindowsRelease, windows_facts

GIB = 1024**3
MIB = 1024**2
DAY = timedelta(days=1)
# Rooms of the public self-service PCs (inventory.sample_register): citizens sign nothing there.
PUBLIC_ROOM_PREFIX = "Khu tự phục vụ"
VNPT_CA = "vnpt_ca"
VGCA = "vgca"
# The VNPT-CA Plugin's version as getVersion gives it (the one a portal compares against;
# agent/checks/signing/vnpt.py).
VNPT_PLUGIN_VERSION = "1.0.4.3"
# Certificates are issued on a grid of periods counted from here (any fixed past instant).
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")


def _win10(build: int, release: str) -> WindowsRelease:
    return WindowsRelease(
        10, 0, build, release="10", edition="Professional", display_version=release
    )


WIN7 = WindowsRelease(6, 1, 7601, release="7", edition="Professional")
WIN81 = WindowsRelease(6, 3, 9600, release="8.1", edition="Professional")
# (share, Windows) by age band (years since put into use): upper bound of the band first.
_WINDOWS: tuple[tuple[float, tuple[tuple[float, WindowsRelease], ...]], ...] = (
    (2.0, ((0.45, _win10(26100, "24H2")), (0.25, _win10(22631, "23H2")),
           (0.30, _win10(19045, "22H2")))),
    (5.0, ((0.55, _win10(19045, "22H2")), (0.10, _win10(19044, "21H2")),
           (0.15, _win10(22621, "22H2")), (0.20, _win10(22631, "23H2")))),
    (8.0, ((0.65, _win10(19045, "22H2")), (0.10, _win10(18363, "1909")),
           (0.10, _win10(19044, "21H2")), (0.10, WIN7), (0.05, WIN81))),
    (99.0, ((0.40, _win10(19045, "22H2")), (0.45, WIN7), (0.15, WIN81))),
)  # fmt: skip
# (processor name as Windows gives it, logical, physical cores) by the same age bands: Intel
# 12th–13th generation and Ryzen 5000 for 2024–25 purchases, back to 3rd–4th generation Core
# and Pentiums in PCs reused from district offices.
_CPUS: tuple[tuple[float, tuple[tuple[str, int, int], ...]], ...] = (
    (2.0, (("12th Gen Intel(R) Core(TM) i5-12400", 12, 6),
           ("12th Gen Intel(R) Core(TM) i3-12100", 8, 4),
           ("13th Gen Intel(R) Core(TM) i5-13400", 16, 10),
           ("AMD Ryzen 5 5600G with Radeon Graphics", 12, 6))),
    (5.0, (("Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz", 12, 6),
           ("Intel(R) Core(TM) i3-10100 CPU @ 3.60GHz", 8, 4),
           ("11th Gen Intel(R) Core(TM) i5-11400 @ 2.60GHz", 12, 6),
           ("AMD Ryzen 5 PRO 4650G with Radeon Graphics", 12, 6))),
    (8.0, (("Intel(R) Core(TM) i3-8100 CPU @ 3.60GHz", 4, 4),
           ("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", 6, 6),
           ("Intel(R) Core(TM) i5-7500 CPU @ 3.40GHz", 4, 4),
           ("Intel(R) Core(TM) i3-7100 CPU @ 3.90GHz", 4, 2),
           ("Intel(R) Pentium(R) CPU G4560 @ 3.50GHz", 4, 2))),
    (99.0, (("Intel(R) Core(TM) i3-4130 CPU @ 3.40GHz", 4, 2),
            ("Intel(R) Core(TM) i5-4570 CPU @ 3.20GHz", 4, 4),
            ("Intel(R) Core(TM) i3-6100 CPU @ 3.70GHz", 4, 2),
            ("Intel(R) Pentium(R) CPU G3260 @ 3.30GHz", 2, 2),
            ("Intel(R) Core(TM) i5-3470 CPU @ 3.20GHz", 4, 4))),
)  # fmt: skip
# SMBIOS manufacturer strings of the register's brands (what the host check reads as "vendor").
_VENDORS = {
    "Dell": "Dell Inc.",
    "HP": "HP",
    "Lenovo": "LENOVO",
    "MSI": "Micro-Star International Co., Ltd.",
    "Asus": "ASUSTeK COMPUTER INC.",
}

# Family names with their shares of the population (Wikipedia, "Vietnamese name", after a 2005
# survey: Nguyễn 38.4 %, Trần 12.1 %, Lê 9.5 % ...; ``[T]``); the rest spread over rarer names.
_FAMILY = (
    ("Nguyễn", 38.4), ("Trần", 12.1), ("Lê", 9.5), ("Phạm", 7.0), ("Hoàng", 3.0),
    ("Huỳnh", 2.1), ("Phan", 4.5), ("Vũ", 2.4), ("Võ", 1.5), ("Đặng", 2.1), ("Bùi", 2.0),
    ("Đỗ", 1.4), ("Hồ", 1.3), ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5), ("Đinh", 1.0),
    ("Trịnh", 1.0), ("Mai", 0.8), ("Đoàn", 0.8), ("Lương", 0.6), ("Tạ", 0.4), ("Hà", 0.7),
)  # fmt: skip
_MIDDLE = {
    "m": ("Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Ngọc", "Xuân", "Công"),
    "f": ("Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Minh", "Phương", "Kim"),
}
_GIVEN = {
    "m": ("Anh", "Dũng", "Hùng", "Tuấn", "Nam", "Hải", "Sơn", "Long", "Cường", "Thắng", "Hiếu",
          "Trung", "Phong", "Quân", "Tùng", "Bình", "Khánh", "Đạt", "Huy", "Thành"),
    "f": ("Hương", "Lan", "Hà", "Linh", "Trang", "Thảo", "Hạnh", "Hoa", "Mai", "Phương", "Nga",
          "Huyền", "Thủy", "Yến", "Dung", "Nhung", "Loan", "Ngân", "Vân", "Oanh"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Authority:
    """A certification authority whose tokens sign at the counters, as the agent sees it."""

    ca: str  # the tokens check's ``ca`` label (agent/checks/tokens/middleware.yaml)
    module: str  # the PKCS#11 module's path as the reader reports it
    bridge: str  # the signing check's plugin that signs with its tokens
    issuer: str  # the issuing CA's common name on the holders' certificates
    token_label: str
    token_maker: str
    serial_prefix: str
    serial_digits: int
    lives_years: tuple[tuple[float, int], ...]  # (share, years) of certificate lifetimes


# Issuer names as they appear on certificates in public code (``[T]``): VNPT-CA's "VNPT
# Certification Authority" (OU=VNPT-CA Trust Network); the Government CA's "CA phục vụ các cơ
# quan Nhà nước G2" (O=Ban Cơ yếu Chính phủ); "Viettel-CA" (O=Viettel Group); "FPT Certification
# Authority" (O=FPT Corporation); "BkavCA" (O=Bkav Corporation, whose serials begin 5403). Module
# names: the first of each CA in middleware.yaml (VGCA through bit4id's middleware). Token labels,
# makers and the other serial shapes are plausible, not read anywhere. Commercial CAs sell one,
# two or three years; the Government CA's officials' certificates are taken to last three.
AUTHORITIES = {
    "VNPT-CA": Authority(
        "VNPT-CA", r"C:\Windows\System32\vnptca_p11_v10.dll", VNPT_CA,
        "VNPT Certification Authority", "VNPT-CA", "VNPT", "5401", 32,
        ((0.3, 1), (0.4, 2), (0.3, 3)),
    ),
    "VGCA": Authority(
        "VGCA", r"C:\Windows\System32\bit4xpki.dll", VGCA,
        "CA phục vụ các cơ quan Nhà nước G2", "VGCA", "bit4id", "540E", 16, ((1.0, 3),),
    ),
    "Viettel-CA": Authority(
        "Viettel-CA", r"C:\Windows\System32\viettel-ca_v6.dll", VNPT_CA,
        "Viettel-CA", "Viettel-CA", "Feitian", "5404", 32, ((0.4, 1), (0.3, 2), (0.3, 3)),
    ),
    "FPT-CA": Authority(
        "FPT-CA", r"C:\Windows\System32\fptca_v4.dll", VNPT_CA,
        "FPT Certification Authority", "FPT-CA", "Feitian", "5406", 32,
        ((0.4, 1), (0.3, 2), (0.3, 3)),
    ),
    "BKAV-CA": Authority(
        "BKAV-CA", r"C:\Windows\System32\BkavCA.dll", VNPT_CA,
        "BkavCA", "BkavCA", "BKAV", "5403", 32, ((0.4, 1), (0.3, 2), (0.3, 3)),
    ),
}  # fmt: skip
# Of the staff PCs: where a clerk signs with a token (the rest scan or look up only).
_SIGNING_SHARE = 0.92
# Whose token a signing clerk holds: mostly the officials' Government CA token, then VNPT-CA (the
# largest commercial CA), a few of the other public CAs (assumed shares).
_CA_SHARES = (
    (0.50, "VGCA"), (0.32, "VNPT-CA"), (0.10, "Viettel-CA"), (0.04, "FPT-CA"), (0.04, "BKAV-CA"),
)  # fmt: skip
# VNPT-CA Plugin beside a VGCA token (it drives the scanners of VNPT iGate, the procedure system
# of 26 of the 34 provinces: DOMAIN.md §3.2), and the VGCA Sign Service beside a VNPT-CA token.
_SECOND_BRIDGE = {VGCA: 0.6, VNPT_CA: 0.15}
_OTHER_MIDDLEWARE = 0.3  # the other CA's middleware installed too (an earlier clerk's token)
_NO_BRIDGE = 0.04  # a signing PC whose bridge is not installed yet (re-imaged): never ready
_TAKES_HOME = 0.5  # clerks who take their token home at night


@dataclass(frozen=True, slots=True)
class Token:
    """A clerk's USB token and the holder of the certificate on it."""

    authority: Authority
    serial: str  # the token's own serial
    holder: str
    life: timedelta  # how long each of the holder's certificates lives
    renew_before: timedelta  # renewed this long before it expires
    offset: timedelta  # where the holder's renewals fall on the calendar
    takes_home: bool

    @property
    def period(self) -> timedelta:
        """Time between two renewals."""
        return self.life - self.renew_before

    def generation(self, at: datetime) -> int:
        """Which of the holder's certificates is on the token at ``at``."""
        return (at - _EPOCH + self.offset) // self.period

    def certificate(self, generation: int) -> tuple[str, datetime]:
        """The serial and expiry of the holder's ``generation``-th certificate."""
        issued = _EPOCH - self.offset + generation * self.period
        return self.cert_serial(generation), issued + self.life

    def cert_serial(self, generation: int) -> str:
        """A stable serial number (hex) for the holder's ``generation``-th certificate."""
        authority = self.authority
        digest = hashlib.sha256(f"{self.serial}:{generation}".encode()).hexdigest().upper()
        return (authority.serial_prefix + digest)[: authority.serial_digits]


@dataclass(frozen=True, slots=True)
class PcSetup:
    """What is installed on one counter PC."""

    windows: WindowsRelease
    cpu: str
    cores_logical: int
    cores_physical: int
    ram_total_bytes: int  # what Windows reports: the memory less what the graphics reserve
    vendor: str
    mac: str
    bridges: frozenset[str]  # signing bridges installed and started (agent plugin names)
    modules: tuple[Authority, ...]  # CA middleware installed (PKCS#11 modules)
    token: Token | None


def _band(bands: tuple[tuple[float, _T], ...], age: float) -> _T:
    return next(choices for upper, choices in bands if age < upper)


def _weighted(rng: random.Random, pairs: tuple[tuple[float, _T], ...]) -> _T:
    return rng.choices([item for _w, item in pairs], weights=[w for w, _i in pairs])[0]


def holder_name(rng: random.Random) -> str:
    """A plausible Vietnamese full name: family, middle and given name, with diacritics."""
    family = rng.choices([n for n, _s in _FAMILY], weights=[s for _n, s in _FAMILY])[0]
    sex = rng.choice("mf")
    return f"{family} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"


def _token(rng: random.Random, authority: Authority) -> Token:
    years = _weighted(rng, authority.lives_years)
    life = timedelta(days=round(365.25 * years))
    renew = timedelta(days=rng.uniform(35.0, 60.0))
    return Token(
        authority=authority,
        serial="".join(rng.choice("0123456789ABCDEF") for _ in range(16)),
        holder=holder_name(rng),
        life=life,
        renew_before=renew,
        offset=(life - renew) * rng.random(),
        takes_home=rng.random() < _TAKES_HOME,
    )


def _signing(
    rng: random.Random, room: str
) -> tuple[frozenset[str], tuple[Authority, ...], Token | None]:
    """Bridges, middleware and token of a PC in ``room``."""
    if room.startswith(PUBLIC_ROOM_PREFIX):
        return frozenset(), (), None
    if rng.random() >= _SIGNING_SHARE:
        # Scanning and look-ups only; the VNPT-CA Plugin may be there for the scanner.
        return frozenset({VNPT_CA} if rng.random() < 0.5 else ()), (), None
    main = AUTHORITIES[_weighted(rng, _CA_SHARES)]
    # The other middleware an earlier clerk left: VNPT-CA's beside a Government CA token, the
    # Government CA's beside any other.
    other = AUTHORITIES["VNPT-CA" if main.ca == "VGCA" else "VGCA"]
    bridges = {main.bridge}
    if rng.random() < _SECOND_BRIDGE[main.bridge]:
        bridges.add(other.bridge)
    if rng.random() < _NO_BRIDGE:
        bridges.discard(main.bridge)
    modules = (main, other) if rng.random() < _OTHER_MIDDLEWARE else (main,)
    return frozenset(bridges), modules, _token(rng, main)


def draw_setup(
    asset_tag: str, room: str, brand: str, age_years: float, memory_gb: int, seed: int
) -> PcSetup:
    """The setup of one counter PC, the same for the same seed and asset tag."""
    rng = random.Random(f"{seed}:{asset_tag}:setup")  # noqa: S311 - synthetic data
    windows = _weighted(rng, _band(_WINDOWS, age_years))
    cpu, logical, physical = rng.choice(_band(_CPUS, age_years))
    reserved = rng.choice((128, 256, 256, 512)) * MIB  # integrated graphics
    mac = "".join(f":{rng.randrange(256):02x}" for _ in range(5))
    bridges, modules, token = _signing(rng, room)
    return PcSetup(
        windows=windows,
        cpu=cpu,
        cores_logical=logical,
        cores_physical=physical,
        ram_total_bytes=memory_gb * GIB - reserved,
        vendor=_VENDORS.get(brand, brand),
        mac="00" + mac,
        bridges=bridges,
        modules=modules,
        token=token,
    )


def host_facts(
    hostname: str, serial: str, model: str, setup: PcSetup, address: str
) -> dict[str, str]:
    """The facts the agent's host check sends for this PC (agent/checks/host/facts.py
    ``current_facts``): the OS facts by the check's own ``windows_facts``, processor, memory,
    SMBIOS identity and addresses."""
    facts = {
        "hostname": hostname,
        **windows_facts(setup.windows),
        "cpu_model": setup.cpu,
        "cpu_cores_logical": str(setup.cores_logical),
        "cpu_cores_physical": str(setup.cores_physical),
        "ram_total_bytes": str(setup.ram_total_bytes),
        "vendor": setup.vendor,
        "model": model,
        "serial": serial,
        "mac_addresses": setup.mac,
        "ip_addresses": address,
    }
    return {key: value[:FACT_MAX_CHARS] for key, value in facts.items() if value}
