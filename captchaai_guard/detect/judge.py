"""A scan's candidates in, its findings out.

Every source (the staged diff, a commit range, files, a diff on standard
input) hands the :class:`Judge` the candidate lines of a file, then the
file's end with a way to read the file's new content. The judge:

* reports what the line rules of the engine find (those that need
  CaptchaAI named in the file wait for the file's end);
* decides every run the rules left open from the evidence
  (:mod:`captchaai_guard.detect.decide`): on the line where it can, else at the
  file's end, with the file's text;
* looks, at the end of a file that names CaptchaAI, for keys written as two
  quoted halves, and, in a file git calls binary, for keys beside a
  CaptchaAI key name in its printable runs;
* at the end of the scan, reports every other occurrence of a value it
  reported (the same key again).

``explain`` (a list) collects one record per candidate: where it is, the
key masked, the decision and the evidence for and against.
"""

from __future__ import annotations

import re

from captchaai_guard.detect import decide
from captchaai_guard.detect.engine import Engine, Match, Open

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from captchaai_guard.detect.rules import Rule
    from captchaai_guard.findings import Commit, Finding

    ReadText = Callable[[], "decide.FileText | None"]


_URL_KEY = re.compile(r"captchaai\.com[^\s\"'<>]{0,200}[?&](?:client)?key=", re.IGNORECASE)
_HELD_TEXT = 1000  # characters of a held line kept around its value


class _Held:
    """An occurrence of a value that was not reported (yet)."""

    __slots__ = ("column", "commit", "lineno", "path", "text")

    def __init__(self, path: str, lineno: int, column: int, text: str, commit: Commit | None) -> None:
        self.path = path
        self.lineno = lineno
        self.column = column
        self.text = text
        self.commit = commit


class _Pending:
    """What a file left for its end: rule matches that need CaptchaAI named
    in the file, and open runs that need the lines around them."""

    __slots__ = ("halves", "matches", "opened")

    def __init__(self) -> None:
        self.matches: list[tuple[Match, int, str]] = []
        self.opened: list[tuple[Open, int, str]] = []
        self.halves: list[tuple[int, int, str, str]] = []  # (line, column, key, line text)


class Judge:
    """Decides the candidates of one scan (see the module docstring)."""

    def __init__(self, engine: Engine, explain: list[dict[str, object]] | None = None) -> None:
        self.engine = engine
        self.explain = explain
        self.reported: set[str] = set()
        self.held: dict[str, list[_Held]] = {}
        self.pending: dict[tuple[str, str | None], _Pending] = {}
        self.where: set[tuple[str, str | None, int, str]] = set()  # (path, commit, line, value) reported
        self.last: dict[tuple[str, str | None], tuple[int, str]] = {}  # each file's last candidate line

    # -- lines -----------------------------------------------------------
    def line(self, path: str, lineno: int, text: str, commit: Commit | None = None) -> Iterator[Finding]:
        """The findings settled by one candidate line of ``path``."""
        self._look_for_halves(path, lineno, text, commit)
        matches, opened = self.engine.examine(path, text)
        evidence = self.engine.decided.get("evidence")
        for match in matches:
            value = match.secret
            verdict = None
            if match.rule.source == "built-in" and evidence is not None:
                # (what a rule found is still weighed against the evidence that it is not one)
                verdict = decide.judge_line(
                    value, match.variant, match.start, match.end, path, ruled=True, line=text
                )
            if verdict is not None and not verdict.report:
                self._hold(value, path, lineno, match.column, text, commit)
                self._explain(
                    path, lineno, match.column, value, False, None, [match.rule.id], verdict.against
                )
            elif match.needs_file_context:
                self._pending(path, commit).matches.append((match, lineno, text))
            else:
                yield self._report(match.rule, value, path, lineno, match.column, text, commit, matches)
                self._explain(path, lineno, match.column, value, True, match.rule.id, [], [])
        for candidate in opened:
            value = candidate.value
            if value in self.reported:
                yield from self._repeat(value, path, lineno, candidate.column, text, commit, matches)
                continue
            if evidence is None:
                self._hold(value, path, lineno, candidate.column, text, commit)
                continue
            verdict = decide.judge_line(
                value, candidate.variant, candidate.start, candidate.end, path, line=text
            )
            if verdict is None:
                self._pending(path, commit).opened.append((candidate, lineno, text))
            elif verdict.report:
                yield self._report(evidence, value, path, lineno, candidate.column, text, commit, matches)
                self._explain(path, lineno, candidate.column, value, True, evidence.id, verdict.for_, [])
            else:
                self._hold(value, path, lineno, candidate.column, text, commit)
                reasons = verdict.for_, verdict.against
                self._explain(path, lineno, candidate.column, value, False, None, *reasons)

    def _look_for_halves(self, path: str, lineno: int, text: str, commit: Commit | None) -> None:
        """Keep the halves of a key on this line, or on it and the line
        before (both candidates), for the file's end to judge."""
        if self.engine.decided.get("evidence") is None:
            return
        key = (path, commit.sha if commit else None)
        before = self.last.get(key)
        self.last[key] = (lineno, text)
        lines = [text]
        if before is not None and before[0] == lineno - 1:
            lines = [before[1], text]
        first = lineno - len(lines) + 1
        for number, column, value in decide.split_keys("\n".join(lines)):
            line = first + number - 1
            self._pending(path, commit).halves.append((line, column, value, lines[number - 1]))

    def _repeat(
        self,
        value: str,
        path: str,
        lineno: int,
        column: int,
        text: str,
        commit: Commit | None,
        matches: list[Match],
    ) -> Iterator[Finding]:
        """``value``, reported before, again (or held when no rule reports repeats)."""
        repeat = self.engine.decided.get("repeat")
        if repeat is None:
            return
        if (path, commit.sha if commit else None, lineno, value) in self.where:
            return
        yield self._report(repeat, value, path, lineno, column, text, commit, matches)
        self._explain(path, lineno, column, value, True, repeat.id, ["reported elsewhere in the scan"], [])

    # -- files -----------------------------------------------------------
    def file_end(
        self,
        path: str,
        commit: Commit | None,
        read: ReadText | None,
        mentions: bool = False,
        binary: bytes | None = None,
        old_lines: Callable[[], set[str]] | None = None,
        whole: bool = False,
    ) -> Iterator[Finding]:
        """Settle what ``path`` left pending. ``read`` gives its new
        content (None: unknown); ``mentions``: the diff already showed
        CaptchaAI named in it; ``binary``: the content of a file git calls
        binary; ``old_lines``: the lines the file had before (a line among
        them was not added); ``whole``: all of the file is added (a file
        scanned whole: its text is searched for halves of a key)."""
        if binary is not None:
            yield from self._binary(path, commit, binary)
        key = (path, commit.sha if commit else None)
        self.last.pop(key, None)
        pending = self.pending.pop(key, None)
        if pending is None and not (whole and mentions):
            return
        needs_text = whole or (
            pending is not None and (pending.matches or pending.opened or (pending.halves and not mentions))
        )
        ctx = read() if read is not None and needs_text else None
        talks = mentions or (ctx is not None and ctx.talks)
        if pending is not None:
            for match, lineno, text in pending.matches:
                if talks and ctx is not None:
                    verdict = decide.judge_in_file(
                        match.secret, match.variant, match.start, lineno, ctx, ruled=True
                    )
                    if not verdict.report:
                        self._hold(match.secret, path, lineno, match.column, text, commit)
                        self._explain(
                            path,
                            lineno,
                            match.column,
                            match.secret,
                            False,
                            None,
                            [match.rule.id],
                            verdict.against,
                        )
                        continue
                if talks:
                    yield self._report(match.rule, match.secret, path, lineno, match.column, text, commit, [])
                self._explain(
                    path,
                    lineno,
                    match.column,
                    match.secret,
                    talks,
                    match.rule.id,
                    ["the file talks to CaptchaAI"] if talks else [],
                    [] if talks else ["the file does not talk to CaptchaAI"],
                )
            for candidate, lineno, text in pending.opened:
                yield from self._decide_open(candidate, lineno, text, path, commit, ctx, talks)
            if talks and pending.halves:
                yield from self._halves(path, commit, pending.halves, old_lines)
        if whole and talks and ctx is not None:
            found = [(n, c, k, ctx.line(n) or "") for n, c, k in decide.split_keys(ctx.whole())]
            yield from self._halves(path, commit, found, old_lines)

    def _decide_open(
        self,
        candidate: Open,
        lineno: int,
        text: str,
        path: str,
        commit: Commit | None,
        ctx: decide.FileText | None,
        talks: bool,
    ) -> Iterator[Finding]:
        evidence = self.engine.decided["evidence"]
        value = candidate.value
        if value in self.reported:
            yield from self._repeat(value, path, lineno, candidate.column, text, commit, [])
            return
        if ctx is None:
            ctx = decide.FileText(path, {lineno: text}, talks)
        verdict = decide.judge_in_file(value, candidate.variant, candidate.start, lineno, ctx)
        if verdict.report:
            yield self._report(evidence, value, path, lineno, candidate.column, text, commit, [])
        else:
            self._hold(value, path, lineno, candidate.column, text, commit)
        self._explain(
            path,
            lineno,
            candidate.column,
            value,
            verdict.report,
            evidence.id if verdict.report else None,
            verdict.for_,
            verdict.against,
        )

    def _halves(
        self,
        path: str,
        commit: Commit | None,
        found: list[tuple[int, int, str, str]],
        old_lines: Callable[[], set[str]] | None,
    ) -> Iterator[Finding]:
        """Report the keys written as halves, ``(line, column, key, text)``,
        of a file that talks to CaptchaAI (on its added lines)."""
        evidence = self.engine.decided.get("evidence")
        if evidence is None:
            return
        old: set[str] | None = None
        for lineno, column, key, line in found:
            if decide.judge_value(key) is not None:
                continue
            if old_lines is not None:
                if old is None:
                    old = old_lines()
                if line in old:
                    continue  # (not an added line)
            if (path, commit.sha if commit else None, lineno, key) in self.where:
                continue
            yield self._report(evidence, key, path, lineno, column, line, commit, [])
            self._explain(path, lineno, column, key, True, evidence.id, ["two halves of one key"], [])

    def _binary(self, path: str, commit: Commit | None, data: bytes) -> Iterator[Finding]:
        rule = self.engine.decided.get("binary")
        if rule is None or decide.QUIET_BINARY_PATH.search(path):
            return
        for key, around in decide.binary_keys(data, self._strong):
            yield self._report(rule, key, path, 1, 1, around, commit, [])
            self._explain(path, 1, 1, key, True, rule.id, ["a CaptchaAI key name beside it"], [])

    def _strong(self, around: str, key: str) -> bool:
        """A CaptchaAI key name in ``around``, or ``key`` as a CaptchaAI URL's ``key=``."""
        if _URL_KEY.search(around) and f"key={key}" in around:
            return True
        return any(decide.is_key_name(name) for name in decide.identifiers(around))

    def forget(self, path: str, commit: Commit | None) -> None:
        """Drop what ``path`` left pending (a path the scan leaves out)."""
        self.pending.pop((path, commit.sha if commit else None), None)

    # -- the end ---------------------------------------------------------
    def finish(self) -> Iterator[Finding]:
        """Every held occurrence of a value reported somewhere in the scan."""
        repeat = self.engine.decided.get("repeat")
        if repeat is None:
            return
        for value in list(self.held):
            if value not in self.reported:
                continue
            for held in self.held.pop(value):
                yield self._report(
                    repeat, value, held.path, held.lineno, held.column, held.text, held.commit, []
                )
                self._explain(
                    held.path,
                    held.lineno,
                    held.column,
                    value,
                    True,
                    repeat.id,
                    ["reported elsewhere in the scan"],
                    [],
                )

    # -- helpers ---------------------------------------------------------
    def _pending(self, path: str, commit: Commit | None) -> _Pending:
        key = (path, commit.sha if commit else None)
        found = self.pending.get(key)
        if found is None:
            found = self.pending[key] = _Pending()
        return found

    def _hold(
        self, value: str, path: str, lineno: int, column: int, text: str, commit: Commit | None
    ) -> None:
        if len(text) > _HELD_TEXT:  # (a minified line: keep what a report would show of it)
            cut = max(0, column - 1 - _HELD_TEXT // 2)
            text = text[cut : cut + _HELD_TEXT]  # (the column stays the line's)
        self.held.setdefault(value, []).append(_Held(path, lineno, column, text, commit))

    def _report(
        self,
        rule: Rule,
        secret: str,
        path: str,
        lineno: int,
        column: int,
        text: str,
        commit: Commit | None,
        matches: list[Match],
    ) -> Finding:
        from captchaai_guard.findings import Finding, mask

        self.reported.add(secret)
        self.where.add((path, commit.sha if commit else None, lineno, secret))
        for other in matches:  # every other key of the line is masked in this finding's line
            if other.secret != secret:
                text = text.replace(other.secret, mask(other.secret))
        return Finding(
            rule_id=rule.id,
            description=rule.description,
            path=path,
            line=lineno,
            column=column,
            secret=secret,
            line_text=text,
            commit=commit,
            remediation=rule.remediation,
        )

    def _explain(
        self,
        path: str,
        lineno: int,
        column: int,
        value: str,
        report: bool,
        rule_id: str | None,
        for_: list[str],
        against: list[str],
    ) -> None:
        if self.explain is None:
            return
        from captchaai_guard.findings import mask, mask_runs

        self.explain.append(
            {
                "path": path,
                "line": lineno,
                "column": column,
                "masked": mask(value),
                "reported": report,
                "rule_id": rule_id,
                "for": [mask_runs(text) for text in for_],  # (they may quote a name or a line)
                "against": [mask_runs(text) for text in against],
            }
        )


__all__ = ["Judge"]
