from __future__ import annotations

from captchaai_guard.commands.entry import console

console()
