"""SNMP polling for the site agent: client, walker, MIB decoders, device profiles and metrics.

Only :mod:`agent.checks.snmp.client` imports pysnmp; everything else works on plain Python
values so that a fake client can drive it in unit tests. The check itself is
:mod:`agent.checks.snmp.check`.
"""
