from __future__ import annotations

from captchaai_guard.entry import console

console()
