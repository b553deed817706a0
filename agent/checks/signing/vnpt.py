"""The VNPT-CA Plugin's message framing, as its web library ``vnpt-plugin.js`` speaks it.

Read from the library itself (js version 1.0.0.8), public repository
``tinletrongCS/intern-project-1-webclient``, file ``static/vendor/vnpt-plugins/vnpt-plugin.js``:

- every call is one text message, ``JSON.stringify`` of ``{functionID, funcCallback, args,
  domain}``: ``checkPlugin`` is ``functionID`` 7 with ``args [""]``, ``getVersion`` is 11;
  ``funcCallback`` is ``"callbackDefault"`` for promise callers; ``domain`` is the page's host
  name (the plugin's licence is bound to it; ``checkPlugin`` itself needs no licence);
- the answer is one text message ``<result>*<callback name>``; the library splits on ``*`` and
  takes the first field; ``checkPlugin``'s result ``"1"`` means ready, anything else is not;
  ``getVersion``'s result is the version, e.g. ``1.0.4.3`` (a portal compares it to that string);
- it connects to ``wss://localhost:<port>/plugin`` for ports 4433, 4434, 4435 in turn, giving
  each 3 s (``timeOut = 3000`` in ``checkPlugin``).
"""

from __future__ import annotations

import json

CHECK_PLUGIN = 7
GET_VERSION = 11
CALLBACK = "callbackDefault"
READY = "1"


def request(function_id: int, domain: str) -> str:
    """The text message calling ``function_id`` with the library's empty argument."""
    return json.dumps(
        {"functionID": function_id, "funcCallback": CALLBACK, "args": [""], "domain": domain},
        separators=(",", ":"),
    )


def result_of(answer: str) -> str:
    """The result field of an answer ``<result>*<callback>`` (the whole text if no ``*``)."""
    return answer.split("*", 1)[0].strip()
