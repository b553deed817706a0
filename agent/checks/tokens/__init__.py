"""The ``tokens`` check (``check.py``): USB tokens and their certificates through PKCS#11.

``middleware.yaml`` and ``middleware.py`` name the CAs' modules per OS; ``reader.py`` is the
short-lived process that loads them (python-pkcs11, cryptography). The registry names the check
``agent.checks.tokens:TokensCheck``; importing it loads neither library.
"""

from __future__ import annotations

from agent.checks.tokens.check import TokenModule, TokensCheck, TokensConfig

__all__ = ["TokenModule", "TokensCheck", "TokensConfig"]
