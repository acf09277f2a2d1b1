"""The hook entry point under the name hooks installed by earlier versions import.

A ``.git/hooks/pre-commit`` written by an earlier ``captchaai-guard
install`` runs ``from captchaai_guard.hook import run``; it keeps working
after an upgrade. New hooks import :mod:`captchaai_guard.commands.hook`.
"""

from captchaai_guard.commands.hook import run as run

__all__ = ["run"]
