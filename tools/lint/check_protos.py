#!/usr/bin/env python3
"""Proto rules of HOUSE_STYLE 3.6, checked on every proto/p402/v1/*.proto file.

- the file declares `package p402.v1;`;
- at most one service per file;
- every enum's zero value is <ENUM_NAME_IN_UPPER_SNAKE>_UNSPECIFIED, and every value of the enum
  starts with <ENUM_NAME_IN_UPPER_SNAKE>_;
- the request and response messages of each RPC are <Rpc>Request / <Rpc>Response (with the naming
  rule, and message names being unique in the package, no two RPCs share a message);
- every field (message fields, map fields, oneof members) has a comment line directly above it
  (no blank line in between) or a trailing // comment on its own line(s).

Prints each violation as `file:line: message` and exits 1 when there is any; prints
"check_protos: ok" and exits 0 otherwise. Usage: check_protos.py [FILE.proto ...] (default: every
proto/p402/v1/*.proto of the repository this script lives in). Python 3 standard library only.

Known exceptions live in EXCEPTIONS below, each with its reason. An exception that no longer
matches a violation is itself reported, so the list cannot outlive the problem it excuses.
"""

import glob
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "p402.v1"

# (file name, rule, subject) -> reason. Rules: "rpc-request-name", "rpc-response-name".
EXCEPTIONS = {
    ("router.proto", "rpc-request-name", "StreamRoute"):
        "StreamRoute takes RouteRequest, shared with Route, since before this check existed; "
        "renaming it is a breaking change for v1 callers (HOUSE_STYLE 3.6: fix in p402/v2).",
}


class Token:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind  # "ident", "number", "string", "punct"
        self.text = text
        self.line = line

    def __repr__(self):
        return "%s(%r)@%d" % (self.kind, self.text, self.line)


class ProtoFile:
    """Tokens of one file plus, per line, whether it holds only a comment or a trailing one."""

    def __init__(self, path, text):
        self.path = path
        self.tokens = []
        self.comment_only_lines = set()  # lines whose only content is comment text
        self.trailing_comment_lines = set()  # lines with code followed by a // or /* comment
        self._tokenize(text)

    def _tokenize(self, text):
        code_lines = set()
        comment_lines = set()
        trailing = set()
        i, n, line = 0, len(text), 1
        ident_re = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
        number_re = re.compile(r"-?(0[xX][0-9A-Fa-f]+|[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?)")
        while i < n:
            c = text[i]
            if c == "\n":
                line += 1
                i += 1
            elif c in " \t\r\f\v":
                i += 1
            elif text.startswith("//", i):
                end = text.find("\n", i)
                end = n if end == -1 else end
                (trailing if line in code_lines else comment_lines).add(line)
                i = end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                end = n if end == -1 else end + 2
                if line in code_lines:
                    trailing.add(line)
                last = line + text.count("\n", i, end)
                comment_lines.update(range(line if line not in code_lines else line + 1,
                                           last + 1))
                line = last
                i = end
            elif c in "\"'":
                j = i + 1
                while j < n and text[j] != c and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                self.tokens.append(Token("string", text[i:j + 1], line))
                code_lines.add(line)
                i = j + 1
            else:
                m = ident_re.match(text, i) if (c.isalpha() or c == "_" or c == ".") else None
                if c == "." and text[i + 1:i + 2].isalpha():
                    m = ident_re.match(text, i + 1)  # fully qualified type: .p402.v1.Foo
                    if m:
                        self.tokens.append(Token("ident", "." + m.group(0), line))
                        code_lines.add(line)
                        i = m.end()
                        continue
                if m:
                    self.tokens.append(Token("ident", m.group(0), line))
                    i = m.end()
                else:
                    m = number_re.match(text, i) if (c.isdigit() or c == "-") else None
                    if m and m.group(0) != "-":
                        self.tokens.append(Token("number", m.group(0), line))
                        i = m.end()
                    else:
                        self.tokens.append(Token("punct", c, line))
                        i += 1
                code_lines.add(line)
        # A comment line is "comment only" when no code shares it.
        self.comment_only_lines = comment_lines - code_lines
        self.trailing_comment_lines = trailing


class Checker:
    def __init__(self):
        self.violations = []  # (path, line, message)
        self.used_exceptions = set()

    def report(self, pf, line, message, exception_key=None):
        if exception_key is not None and exception_key in EXCEPTIONS:
            self.used_exceptions.add(exception_key)
            return
        self.violations.append((pf.path, line, message))

    # ---- parsing helpers -------------------------------------------------------------------

    def check_file(self, path, display):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        pf = ProtoFile(display, text)
        self.file_name = os.path.basename(path)
        toks = pf.tokens
        services = []
        package = None
        package_line = 1
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.kind == "ident" and t.text == "package":
                stmt, i = self.statement(toks, i)
                package = "".join(x.text for x in stmt[1:-1])
                package_line = t.line
                continue
            if t.kind == "ident" and t.text in ("message", "enum", "service", "extend") and \
                    i + 2 < len(toks) and toks[i + 2].text == "{":
                name = toks[i + 1].text
                body_start = i + 3
                body_end = self.matching_brace(toks, i + 2)
                if t.text == "message":
                    self.check_message(pf, toks, body_start, body_end)
                elif t.text == "enum":
                    self.check_enum(pf, name, t.line, toks, body_start, body_end)
                elif t.text == "service":
                    services.append((name, t.line))
                    self.check_service(pf, toks, body_start, body_end)
                i = body_end + 1
                continue
            _, i = self.statement(toks, i)
        if package is None:
            self.report(pf, 1, "missing `package %s;`" % PACKAGE)
        elif package != PACKAGE:
            self.report(pf, package_line, "package is %s, must be %s" % (package, PACKAGE))
        for name, line in services[1:]:
            self.report(pf, line, "service %s: at most one service per file (%s is already "
                        "declared here)" % (name, services[0][0]))

    @staticmethod
    def matching_brace(toks, open_index):
        depth = 0
        for j in range(open_index, len(toks)):
            if toks[j].kind == "punct":
                if toks[j].text == "{":
                    depth += 1
                elif toks[j].text == "}":
                    depth -= 1
                    if depth == 0:
                        return j
        return len(toks) - 1

    def statement(self, toks, i, end=None):
        """Tokens of the statement starting at i (through its ';', or through a {...} body)."""
        end = len(toks) if end is None else end
        depth = 0
        j = i
        while j < end:
            t = toks[j]
            if t.kind == "punct":
                if t.text in "[(":
                    depth += 1
                elif t.text in "])":
                    depth -= 1
                elif t.text == ";" and depth <= 0:
                    return toks[i:j + 1], j + 1
                elif t.text == "{" and depth <= 0:
                    close = self.matching_brace(toks, j)
                    return toks[i:close + 1], close + 1
            j += 1
        return toks[i:end], end

    # ---- rules -------------------------------------------------------------------------------

    def check_message(self, pf, toks, start, end):
        i = start
        while i < end:
            t = toks[i]
            if t.kind == "ident" and t.text in ("message", "enum", "oneof", "extend") and \
                    i + 2 < end and toks[i + 2].text == "{":
                name = toks[i + 1].text
                close = self.matching_brace(toks, i + 2)
                if t.text == "message":
                    self.check_message(pf, toks, i + 3, close)
                elif t.text == "enum":
                    self.check_enum(pf, name, t.line, toks, i + 3, close)
                elif t.text == "oneof":
                    self.check_message(pf, toks, i + 3, close)  # oneof members are fields
                i = close + 1
                continue
            stmt, i = self.statement(toks, i, end)
            if not stmt or stmt[0].text in (";", "option", "reserved", "extensions"):
                continue
            eq = next((k for k, x in enumerate(stmt) if x.text == "="), None)
            if eq is None or eq == 0:
                continue
            self.check_field_comment(pf, stmt[eq - 1].text, stmt[0].line, stmt[-1].line)

    def check_field_comment(self, pf, name, first_line, last_line):
        if first_line - 1 in pf.comment_only_lines:
            return
        if any(l in pf.trailing_comment_lines for l in range(first_line, last_line + 1)):
            return
        self.report(pf, first_line, "field %s has no comment directly above it (say what it is, "
                    "its units and invariants)" % name)

    def check_enum(self, pf, name, line, toks, start, end):
        prefix = upper_snake(name)
        want_zero = prefix + "_UNSPECIFIED"
        zero_seen = False
        i = start
        while i < end:
            stmt, i = self.statement(toks, i, end)
            if not stmt or stmt[0].text in (";", "option", "reserved"):
                continue
            if len(stmt) < 3 or stmt[1].text != "=" or stmt[0].kind != "ident":
                continue
            value, number = stmt[0], stmt[2].text
            try:
                is_zero = int(number, 0) == 0
            except ValueError:
                is_zero = False
            if is_zero:
                zero_seen = True
                if value.text != want_zero:
                    self.report(pf, value.line, "enum %s: zero value is %s, must be %s"
                                % (name, value.text, want_zero))
            elif not value.text.startswith(prefix + "_"):
                self.report(pf, value.line, "enum %s: value %s must start with %s_"
                            % (name, value.text, prefix))
        if not zero_seen:
            self.report(pf, line, "enum %s: no zero value (must be %s = 0)" % (name, want_zero))

    def check_service(self, pf, toks, start, end):
        i = start
        while i < end:
            stmt, i = self.statement(toks, i, end)
            if not stmt or stmt[0].text != "rpc":
                continue
            texts = [t.text for t in stmt]
            rpc = texts[1] if len(texts) > 1 else "?"
            types = []  # request type, response type
            k = 0
            while k < len(texts):
                if texts[k] == "(":
                    k += 1
                    if k < len(texts) and texts[k] == "stream":
                        k += 1
                    if k < len(texts):
                        types.append(texts[k].split(".")[-1])
                k += 1
            if len(types) < 2:
                self.report(pf, stmt[0].line, "rpc %s: cannot read its request/response types"
                            % rpc)
                continue
            for kind, got in (("Request", types[0]), ("Response", types[1])):
                want = rpc + kind
                if got != want:
                    rule = "rpc-%s-name" % kind.lower()
                    self.report(pf, stmt[0].line, "rpc %s: %s message is %s, must be %s"
                                % (rpc, kind.lower(), got, want),
                                exception_key=(self.file_name, rule, rpc))


def upper_snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.upper()


def main(argv):
    if len(argv) > 1:
        paths = argv[1:]
        default_set = False
    else:
        paths = sorted(glob.glob(os.path.join(REPO_ROOT, "proto", "p402", "v1", "*.proto")))
        default_set = True
        if not paths:
            print("%s: no proto/p402/v1/*.proto files found" % REPO_ROOT)
            return 1
    checker = Checker()
    for path in paths:
        display = os.path.relpath(path, REPO_ROOT) if default_set else path
        try:
            checker.check_file(path, display)
        except OSError as e:
            checker.violations.append((path, 1, "cannot read: %s" % e.strerror))
    if default_set:
        checked = {os.path.basename(p) for p in paths}
        for key, reason in sorted(EXCEPTIONS.items()):
            if key[0] in checked and key not in checker.used_exceptions:
                checker.violations.append(
                    (os.path.join("tools", "lint", "check_protos.py"), 1,
                     "stale exception %s (no longer needed): remove it" % (key,)))
    for path, line, message in sorted(checker.violations, key=lambda v: (v[0], v[1])):
        print("%s:%d: %s" % (path, line, message))
    if checker.violations:
        return 1
    print("check_protos: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
