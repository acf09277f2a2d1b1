"""Remedy: findings in, the way out of a blocked commit out.

Enters: findings and the files that hold them. Leaves: advice text in the
language of each file (:mod:`.guide`, used by every report), and for
``captchaai-guard fix`` the edits themselves: the key moved into ``.env``
(:mod:`.fix`), the source rewritten to read the environment
(:mod:`.rewrite`, :mod:`.pyimports`), files replaced without a stray copy
(:mod:`.safe_write`).
"""
