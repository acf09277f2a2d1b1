from __future__ import annotations

from captchaai_guard.cli import main

raise SystemExit(main())
