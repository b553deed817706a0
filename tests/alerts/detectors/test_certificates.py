"""Certificates about to expire (alerts/detectors/certificates.py): a signing certificate's
holder told until it is renewed, a central system's TLS certificate sent to its vendor.

Reports travel the real ingest path (journal, processor, alert engine) on both stores; the token
samples are the agent's own (tests/alerts/signing_samples.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from tests.alerts.detectors.support import counter_pc, of_class, run
from tests.alerts.signing_samples import Cert
from tests.alerts.support import HEARTBEAT, World, pc, probe_device

# Days to expiry count from the clock at each report (the helper builds the token then).
AN = Cert("Nguyễn Văn An", "54AB01", days=20.0)
AN_A_DAY_LATER = Cert("Nguyễn Văn An", "54AB01", days=19.0)
BINH = Cert("Trần Thị Bình", "54AB02", days=60.0)
AN_RENEWED = Cert("Nguyễn Văn An", "77CD09", days=730.0)


def tls_probe(device_id: str, target: str, days: float) -> dict[str, Any]:
    """An HTTPS probe as the agent sends it (the recorded TLS probe), its certificate ``days``
    from expiry."""
    device = probe_device(device_id, target, "slow_path", duration=0.04)
    for sample in device["samples"]:
        if sample["name"] == "probe_tls_cert_expiry_days":
            sample["value"] = days
    return device


def test_one_ticket_per_expiring_certificate_naming_its_holder_until_renewed(
    engine: Engine,
) -> None:
    world = World(engine)
    commune = world.communes[0]
    agent = world.enrol(commune, [])
    run(world, agent, [counter_pc(world, "PC-1", (AN, BINH))], ticks=3)
    (ticket,) = of_class(world, "signing_cert_expiring")
    assert (ticket.commune_code, ticket.device_id, ticket.owner) == (
        commune,
        "PC-1",
        "commune-centre",
    )
    assert "Nguyễn Văn An" in ticket.body_vi
    assert "Nguyễn Văn An" in ticket.body_en
    assert "gia hạn" in ticket.body_vi
    evidence = json.loads(ticket.evidence)
    assert (evidence["serial"], evidence["days left"]) == ("54AB01", 20)
    # A day later, and the token unplugged for a while: still the one ticket, open.
    world.clock.advance(86_400)
    run(world, agent, [counter_pc(world, "PC-1", (AN_A_DAY_LATER, BINH))])
    run(world, agent, [counter_pc(world, "PC-1", present=False)], ticks=2)
    (ticket,) = of_class(world, "signing_cert_expiring")
    assert ticket.active
    assert ticket.state == "open"
    assert json.loads(ticket.evidence)["days left"] == 19
    # Renewed: the holder's token now carries a certificate for two years; the ticket ends.
    run(world, agent, [counter_pc(world, "PC-1", (AN_RENEWED, BINH))])
    (ticket,) = of_class(world, "signing_cert_expiring")
    assert not ticket.active
    assert json.loads(ticket.evidence)["replaced by"].startswith("serial 77CD09")
    # The old token still plugged into another PC does not bring the ticket back.
    world.clock.advance(600)
    run(world, agent, [counter_pc(world, "PC-2", (AN,))], ticks=3)
    (ticket,) = of_class(world, "signing_cert_expiring")
    assert not ticket.active
    assert ticket.reopen_count == 0


def test_a_central_systems_tls_certificate_goes_to_its_vendor(engine: Engine) -> None:
    world = World(engine)
    agents = [world.enrol(code, []) for code in world.communes[:2]]

    def probes(motcua_days: float) -> None:
        for agent in agents:
            name = f"{agent.commune}-PC"
            device = pc(name, targets=())
            device["probes"] = [
                tls_probe(name, "motcua", motcua_days),
                tls_probe(name, "dvcqg", 200.0),
            ]
            agent.devices = [device]
        world.tick()

    for _ in range(3):
        probes(10.0)
    (ticket,) = of_class(world, "tls_cert_expiring")
    assert (ticket.system, ticket.owner, ticket.commune_code) == ("motcua", "motcua-vendor", None)
    assert "motcua.example.gov.vn" in ticket.body_vi
    world.clock.advance(86_400 - HEARTBEAT)
    probes(9.0)
    (ticket,) = of_class(world, "tls_cert_expiring")
    assert json.loads(ticket.evidence)["days left"] == 9
    probes(380.0)  # renewed by the vendor
    (ticket,) = of_class(world, "tls_cert_expiring")
    assert not ticket.active
