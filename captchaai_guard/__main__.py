from __future__ import annotations

from captchaai_guard.commands.console import console

console()
