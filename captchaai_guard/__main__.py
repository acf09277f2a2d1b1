from __future__ import annotations

from captchaai_guard.entry import main

raise SystemExit(main())
