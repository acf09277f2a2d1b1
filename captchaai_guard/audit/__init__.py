"""Audit: a repository in, the security checklist out.

Enters: the repository (tracked files, ``.gitignore``, hooks, history).
Leaves: checklist items, pass/warn/fail (:mod:`.checklist`, with the code
heuristics of :mod:`.code`), rendered as a table or JSON (:mod:`.report`).
"""
