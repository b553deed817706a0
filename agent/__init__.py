"""The commune-side agent: checks on counter PCs, the site agent's SNMP poller, spool, sender."""
