"""The query languages the CRM stand-in (crm_standin.py) understands, as far as ucdesk's
clients write them: Sugar filter clauses, an OData $filter subset, a Lucene subset; and
the digits rule its phone searches share. Part of the stand-in: see its docstring."""
import re


def digits(s):
    return re.sub(r"\D", "", s or "")


def same_number(stored, wanted):
    a, b = digits(stored), digits(wanted)
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 7 and long_.endswith(short)


def sugar_match(r, f):
    """One Sugar filter clause: $or/$and lists, field operators, plain equality."""
    if "$or" in f:
        return any(sugar_match(r, x) for x in f["$or"])
    if "$and" in f:
        return all(sugar_match(r, x) for x in f["$and"])
    for field, cond in f.items():
        value = str(r.get(field) or "")
        if not isinstance(cond, dict):
            cond = {"$equals": cond}
        for op, arg in cond.items():
            arg = str(arg)
            ok = {"$contains": lambda: arg.lower() in value.lower(), "$equals": lambda: value == arg,
                  "$starts": lambda: value.lower().startswith(arg.lower())}.get(op)
            if ok is None:
                raise ValueError(op)
            if not ok():
                return False
    return True


def odata_filter(text):
    """`contains(f,'v')`, `startswith(f,'v')`, `f eq 'v'` joined by `or`/`and` ('' is ')."""
    lit = r"'((?:[^']|'')*)'"
    term = re.compile(rf"\s*(?:(contains|startswith)\((\w+),\s*{lit}\)|(\w+)\s+eq\s+{lit})\s*")
    ors = []
    for alternative in re.split(r"\s+or\s+", text):
        ands = []
        for piece in re.split(r"\s+and\s+", alternative):
            m = term.fullmatch(piece)
            if not m:
                raise ValueError(piece)
            if m.group(1):
                fn, field, value = m.group(1), m.group(2), m.group(3).replace("''", "'")
            else:
                fn, field, value = "eq", m.group(4), m.group(5).replace("''", "'")
            ands.append((fn, field, value))
        ors.append(ands)

    def test(r):
        def one(fn, field, value):
            stored = str(r.get(field) or "")
            if fn == "contains":
                return value.lower() in stored.lower()
            if fn == "startswith":
                return stored.lower().startswith(value.lower())
            return stored == value
        return any(all(one(*t) for t in ands) for ands in ors)
    return test


def lucene(query):
    """A Lucene subset: field:value (quoted, trailing * for prefix), AND, OR, parentheses."""
    tokens = re.findall(r'\(|\)|\w+:"(?:\\.|[^"])*"|\w+:[^\s()]+|AND|OR', query)
    pos = 0

    def expr():
        nonlocal pos
        left = conj()
        while pos < len(tokens) and tokens[pos] == "OR":
            pos += 1
            right = conj()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def conj():
        nonlocal pos
        left = atom()
        while pos < len(tokens) and tokens[pos] == "AND":
            pos += 1
            right = atom()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def atom():
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("query ends early")
        t = tokens[pos]
        pos += 1
        if t == "(":
            inner = expr()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError("no )")
            pos += 1
            return inner
        field, _, value = t.partition(":")
        value = re.sub(r'\\(.)', r"\1", value.strip('"'))
        if field == "isDeleted":
            return lambda r: value == "false"
        if field in ("phone", "phone2", "phone3", "mobile"):
            return lambda r: same_number(r.get(field), value)
        low = value.lower()
        if low.endswith("*"):
            return lambda r: any(w.startswith(low[:-1]) for w in str(r.get(field) or "").lower().split())
        return lambda r: low in str(r.get(field) or "").lower().split()

    if not tokens:
        raise ValueError("empty query")
    out = expr()
    if pos != len(tokens):
        raise ValueError("trailing terms")
    return out
