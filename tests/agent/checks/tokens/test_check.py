"""The tokens check with a real PKCS#11 module (SoftHSM2): certificates read without a PIN."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError

from agent.checks.tokens import TokenModule, TokensCheck, TokensConfig
from agent.wire import DeviceReport
from tests.agent.checks.helpers import FakeClock, assert_catalogued
from tests.agent.checks.tokens.softhsm import SoftHsm, certificate, softhsm

HOLDER = "Nguyễn Văn An"


@pytest.fixture
def hsm(tmp_path, monkeypatch) -> SoftHsm:
    installed = softhsm(tmp_path)
    # The reader process inherits the agent's environment, as on a PC.
    monkeypatch.setenv("SOFTHSM2_CONF", str(installed.conf))
    return installed


def tokens_check(hsm: SoftHsm, clock: FakeClock | None = None, **options) -> TokensCheck:
    config = TokensConfig(
        device_id="pc-01",
        known_modules=False,
        modules=[TokenModule(ca="SoftHSM", path=hsm.module)],
        **options,
    )
    return TokensCheck(config, clock=clock or FakeClock())


async def collect(check: TokensCheck) -> DeviceReport:
    [report] = await check.collect()
    assert (report.device_id, report.kind) == ("pc-01", "pc")
    assert_catalogued([report])
    return report


def value(report: DeviceReport, name: str) -> float:
    [sample] = [s for s in report.samples if s.name == name]
    return sample.value


async def test_both_certificates_are_read_without_a_pin_with_days_to_expiry(hsm):
    hsm.init_token("VNPT-CA token")
    hsm.import_certificates(
        "VNPT-CA token",
        [
            certificate(HOLDER, 5),
            certificate("Trần Thị Bình", 60, issuer="Viettel-CA"),
            certificate("VNPT Certification Authority", 3000, ca=True),  # CA cert: not counted
        ],
    )
    clock = FakeClock()
    check = tokens_check(hsm, clock)
    report = await collect(check)
    assert value(report, "token_reader_available") == 1.0
    assert value(report, "token_modules_found") == 1.0
    module = {"module": "libsofthsm2.so", "ca": "SoftHSM"}
    assert [(s.name, s.labels, s.value) for s in report.samples if s.name.startswith("token_m")][
        1:
    ] == [("token_module_up", module, 1.0)]
    assert value(report, "token_present") == 1.0
    assert value(report, "signing_cert_count") == 2.0
    expiry = {
        (s.labels["holder"], s.labels["issuer"]): s.value
        for s in report.samples
        if s.name == "signing_cert_expiry_days"
    }
    assert set(expiry) == {
        (HOLDER, "VNPT Certification Authority"),
        ("Trần Thị Bình", "Viettel-CA"),
    }
    assert 4.9 < expiry[(HOLDER, "VNPT Certification Authority")] <= 5.0
    assert 59.9 < expiry[("Trần Thị Bình", "Viettel-CA")] <= 60.0
    serials = {s.labels["serial"] for s in report.samples if s.name == "signing_cert_expiry_days"}
    assert all(0 < len(s) <= 40 and int(s, 16) > 0 for s in serials)
    assert report.events == []
    assert "VNPT-CA token" in report.facts["tokens"]
    assert (
        f"{HOLDER} / VNPT Certification Authority / until" in report.facts["signing_certificates"]
    )
    assert report.facts["token_modules"] == "SoftHSM:libsofthsm2.so"
    # Days are counted on the injected clock: ten days on, the first certificate has expired.
    clock.advance(timedelta(days=10).total_seconds())
    later = await collect(check)
    days = {s.labels["holder"]: s.value for s in later.samples if s.name.endswith("_days")}
    assert -5.1 < days[HOLDER] <= -5.0


async def test_no_token_initialised_is_no_token_present(hsm):
    report = await collect(tokens_check(hsm))
    assert value(report, "token_module_up") == 1.0
    assert value(report, "token_present") == 0.0  # SoftHSM's empty slot is not a token
    assert value(report, "signing_cert_count") == 0.0
    assert report.facts["tokens"] == "none"
    assert report.events == []


async def test_an_absent_module_is_no_module_found(hsm, tmp_path):
    check = TokensCheck(
        TokensConfig(
            device_id="pc-01",
            known_modules=False,
            modules=[TokenModule(ca="VNPT-CA", path=str(tmp_path / "vnptca_p11_v10.so"))],
        ),
        clock=FakeClock(),
    )
    report = await collect(check)
    assert value(report, "token_modules_found") == 0.0
    assert not [s for s in report.samples if s.name in ("token_module_up", "token_present")]
    assert report.facts["token_modules"] == "none"


async def test_a_file_that_is_not_a_pkcs11_module_is_a_module_error(tmp_path):
    fake = tmp_path / "fpt-ca.so"
    fake.write_bytes(b"\x7fELF not really")
    check = TokensCheck(
        TokensConfig(
            device_id="pc-01", known_modules=False, modules=[{"ca": "FPT-CA", "path": str(fake)}]
        ),
        clock=FakeClock(),
    )
    report = await collect(check)
    assert value(report, "token_module_up") == 0.0
    [event] = report.events
    assert event.type == "token_module_error"
    assert event.attrs["module"] == "fpt-ca.so"
    assert event.attrs["ca"] == "FPT-CA"
    assert event.attrs["error"]


_WITHOUT_PKCS11 = (
    "import sys; sys.modules['pkcs11'] = None; from agent.checks.tokens.reader import main; main()"
)


async def test_without_python_pkcs11_the_check_is_unavailable_and_says_so_once():
    check = TokensCheck(
        TokensConfig(device_id="pc-01"),
        clock=FakeClock(),
        reader_command=(sys.executable, "-c", _WITHOUT_PKCS11),
    )
    first, second = await collect(check), await collect(check)
    assert value(first, "token_reader_available") == 0.0
    assert [(e.type, e.attrs) for e in first.events] == [
        ("token_check_unavailable", {"reason": "python-pkcs11 is not installed"})
    ]
    assert value(second, "token_reader_available") == 0.0
    assert second.events == []


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("import time; time.sleep(30)", "timeout"),
        ("import sys; sys.exit(3)", "crash"),
        ("print('garbage')", "output"),
    ],
)
async def test_a_reader_that_hangs_dies_or_babbles_is_a_failed_check(code, error_class):
    check = TokensCheck(
        TokensConfig(device_id="pc-01", timeout_seconds=1.0),
        clock=FakeClock(),
        reader_command=(sys.executable, "-c", code),
    )
    started = time.monotonic()
    report = await collect(check)
    assert time.monotonic() - started < 10  # the hung reader is killed at its time limit
    [event] = report.events
    assert event.type == "token_check_failed"
    assert event.attrs["error_class"] == error_class
    assert report.samples == []


@pytest.mark.parametrize("path", ["pkcs11.dll", "C:relative.dll", "/usr/lib/libx.txt", "/a\nb.so"])
def test_configured_modules_must_be_full_paths_of_libraries(path):
    with pytest.raises(ValidationError, match="full path"):
        TokenModule(ca="X", path=path)


@pytest.mark.parametrize(
    "path", [r"C:\Windows\System32\misaca_p11.dll", "/opt/misa/libmisa.so.2", "/usr/lib/x.dylib"]
)
def test_full_library_paths_are_accepted(path):
    assert TokenModule(ca="MISA-CA", path=path).path == path
