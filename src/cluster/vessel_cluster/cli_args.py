"""Option parsing for `vessel cluster` (no argparse: options may come anywhere, values are
kept as given)."""
from .util import Error


class Args:
    """A tiny option reader: flags with one value, repeatable ones collected in lists."""

    def __init__(self, argv, values, lists=(), flags=(), passthrough=False):
        self.opts, self.pos = {}, []
        i = 0
        while i < len(argv):
            a = argv[i]
            if a == "--":
                self.pos += argv[i + 1:]
                break
            if a.startswith("--") and "=" in a:
                a, v = a.split("=", 1)
                argv = argv[:i] + [a, v] + argv[i + 1:]
            if a in flags:
                self.opts[a] = True
            elif a in values or a in lists:
                if i + 1 >= len(argv):
                    raise Error("%s needs a value" % a)
                if a in lists:
                    self.opts.setdefault(a, []).append(argv[i + 1])
                else:
                    self.opts[a] = argv[i + 1]
                i += 1
            elif a.startswith("--") and passthrough:
                self.pos.append(a)
            elif a.startswith("--"):
                raise Error("unknown option %s (see vessel cluster --help)" % a)
            else:
                self.pos.append(a)
            i += 1

    def get(self, k, default=None):
        return self.opts.get(k, default)


def parse_size_mib(s):
    units = {"K": 1.0 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
    try:
        if s[-1:].upper() in units:
            v = float(s[:-1]) * units[s[-1].upper()]
        else:
            v = float(s)
    except ValueError:
        raise Error("%s: expected a size like 256M or 2G" % s)
    if v < 1 or v != v:
        raise Error("%s: too small" % s)
    return int(v)


def parse_int(s, lo, hi, what):
    try:
        v = int(s)
    except ValueError:
        raise Error("%s %s: expected a number" % (what, s))
    if not lo <= v <= hi:
        raise Error("%s %s: expected %d to %d" % (what, s, lo, hi))
    return v
