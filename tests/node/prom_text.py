"""Validation of the Prometheus text exposition format 0.0.4 (docs/metrics.md).

    parse(text) -> {family name: {"type": ..., "help": ..., "samples": [(name, labels, value)]}}

Uses Debian's python3-prometheus-client parser when it is installed (scripts/setup installs it)
and always runs the strict checks below as well: every line is a comment, a HELP/TYPE line or a
sample; a family's TYPE comes before its samples and once; samples of a family are contiguous;
names and label names are valid; label values are properly escaped; counters are >= 0;
histograms have increasing `le` buckets ending with +Inf, cumulative counts, and _count equal to
the +Inf bucket. Raises ValueError naming the line on the first problem.
"""
import math
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _value(s, where):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"{where}: bad value {s!r}")


def _labels(s, where):
    """Parses `a="x",b="y"` (the text inside braces). Returns (dict, rest after '}')."""
    labels = {}
    i = 0
    while True:
        if s[i] == "}":
            return labels, s[i + 1:]
        m = LABEL.match(s, i)
        if not m:
            raise ValueError(f"{where}: bad label name at {s[i:]!r}")
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ValueError(f"{where}: expected =\" after label {name}")
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ValueError(f"{where}: unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError(f"{where}: bad escape \\{nxt}")
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError(f"{where}: newline in label value")
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ValueError(f"{where}: label {name} repeated")
        labels[name] = "".join(val)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise ValueError(f"{where}: expected , or }} after a label")


def _family_of(name, families):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in families and families[base]["type"] in ("histogram", "summary"):
                return base
    return name


def parse_strict(text):
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    families = {}
    order = []  # family of each sample line, to check contiguity
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}"
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise ValueError(f"{where}: bad metric name {name!r}")
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if parts[1] == "TYPE":
                    t = parts[3] if len(parts) > 3 else ""
                    if t not in TYPES:
                        raise ValueError(f"{where}: bad type {t!r}")
                    if fam["type"] is not None:
                        raise ValueError(f"{where}: second TYPE for {name}")
                    if fam["samples"]:
                        raise ValueError(f"{where}: TYPE of {name} after its samples")
                    fam["type"] = t
                else:
                    if fam["help"] is not None:
                        raise ValueError(f"{where}: second HELP for {name}")
                    fam["help"] = parts[3] if len(parts) > 3 else ""
            continue
        if not line.strip():
            raise ValueError(f"{where}: empty line")
        m = NAME.match(line)
        if not m:
            raise ValueError(f"{where}: bad sample {line!r}")
        name = m.group(0)
        rest = line[m.end():]
        labels = {}
        if rest.startswith("{"):
            labels, rest = _labels(rest[1:], where)
        if not rest.startswith(" "):
            raise ValueError(f"{where}: expected a space before the value")
        fields = rest.strip().split(" ")
        if len(fields) not in (1, 2):
            raise ValueError(f"{where}: expected value [timestamp]")
        value = _value(fields[0], where)
        fname = _family_of(name, families)
        fam = families.setdefault(fname, {"type": "untyped", "help": None, "samples": []})
        if fam["type"] is None:
            fam["type"] = "untyped"
        if order and order[-1] != fname and fname in order:
            raise ValueError(f"{where}: samples of {fname} are not contiguous")
        order.append(fname)
        if fam["type"] == "counter" and not (value >= 0):
            raise ValueError(f"{where}: negative counter")
        fam["samples"].append((name, labels, value))
    for fname, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(fname, fam)
    return families


def _check_histogram(fname, fam):
    series = {}
    for name, labels, value in fam["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if name == fname + "_bucket":
            if "le" not in labels:
                raise ValueError(f"{fname}: a bucket without le")
            s["buckets"].append((_value(labels["le"], fname), value))
        elif name == fname + "_sum":
            s["sum"] = value
        elif name == fname + "_count":
            s["count"] = value
        else:
            raise ValueError(f"{fname}: unexpected sample {name}")
    for key, s in series.items():
        b = s["buckets"]
        if not b or b[-1][0] != math.inf:
            raise ValueError(f"{fname}{dict(key)}: the last bucket must be le=\"+Inf\"")
        for (l1, c1), (l2, c2) in zip(b, b[1:]):
            if not l1 < l2:
                raise ValueError(f"{fname}{dict(key)}: le not increasing")
            if c2 < c1:
                raise ValueError(f"{fname}{dict(key)}: buckets not cumulative")
        if s["sum"] is None or s["count"] is None:
            raise ValueError(f"{fname}{dict(key)}: _sum or _count missing")
        if s["count"] != b[-1][1]:
            raise ValueError(f"{fname}{dict(key)}: _count differs from the +Inf bucket")


def parse(text):
    """Both parsers; returns the strict parser's families and whether prometheus_client ran."""
    families = parse_strict(text)
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return families, False
    seen = 0
    for fam in text_string_to_metric_families(text):
        seen += len(fam.samples)
    total = sum(len(f["samples"]) for f in families.values())
    if seen != total:
        raise ValueError(f"prometheus_client read {seen} samples, the strict parser {total}")
    return families, True


def sample_names(families):
    out = set()
    for fname, fam in families.items():
        out.add(fname)
        for name, _, _ in fam["samples"]:
            out.add(name)
    return out


if __name__ == "__main__":
    # prom_text.py FILE: validates an exposition (exit 1 with the problem).
    import sys
    try:
        fams, real = parse(open(sys.argv[1]).read())
    except ValueError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
    print(f"ok: {len(fams)} families"
          f"{' (prometheus_client agrees)' if real else ' (strict parser only)'}")
