#!/usr/bin/python3
"""Numbers of console-pages.sh (tests/bench/README.md "Console pages").

console-stats.py URL < CURL_OUT
    CURL_OUT: one line per request, "code bytes total pretransfer
    starttransfer" (curl -w, seconds). The first request is a warm-up and
    is dropped. Prints "URL code bytes median p90 max ttfb" in ms, where
    ttfb is the median of starttransfer - pretransfer. When not every
    request answered 200, prints the code (or "mixed") and zeros.

console-stats.py --table RUN... -- DIR
    Reads DIR/RUN.times (lines of the form above) and prints one table:
    each URL's figures per run, and the median of each run after the first
    against the first run's (the ratio to the empty database).
"""
import sys


def nearest_rank(values, pct):
    """The nearest-rank percentile of sorted values."""
    k = max(1, -(-len(values) * pct // 100))
    return values[int(k) - 1]


def one(url):
    rows = [line.split() for line in sys.stdin if line.strip()]
    if len(rows) < 2:
        print(f"{url}: fewer than 2 answers")
        return 1
    rows = rows[1:]
    codes = {r[0] for r in rows}
    if codes != {"200"}:
        # A page missing on this branch (404) or a refused URL: the code
        # alone; console-pages.sh fails the run after the table unless it
        # is 404 every time.
        code = codes.pop() if len(codes) == 1 else "mixed"
        print(f"{url} {code} 0 0 0 0 0")
        return 0
    total = sorted(float(r[2]) * 1000 for r in rows)
    ttfb = sorted((float(r[4]) - float(r[3])) * 1000 for r in rows)
    print(f"{url} {rows[-1][0]} {rows[-1][1]} {nearest_rank(total, 50):.2f} "
          f"{nearest_rank(total, 90):.2f} {total[-1]:.2f} "
          f"{nearest_rank(ttfb, 50):.2f}")
    return 0


def table(runs, folder):
    data = {}
    order = []
    for run in runs:
        with open(f"{folder}/{run}.times") as f:
            for line in f:
                p = line.split()
                if len(p) != 7:
                    continue
                if p[0] not in data:
                    data[p[0]] = {}
                    order.append(p[0])
                data[p[0]][run] = p[1:]
    head = ["url"]
    for run in runs:
        head += [f"{run} code", f"{run} KiB", f"{run} med", f"{run} p90",
                 f"{run} max", f"{run} ttfb"]
    for run in runs[1:]:
        head.append(f"{run}/{runs[0]}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for url in order:
        cells = [url]
        for run in runs:
            v = data[url].get(run)
            if v is None:
                cells += ["-"] * 6
            elif v[0] != "200":
                cells += [v[0]] + ["-"] * 5
            else:
                cells += [v[0], f"{int(v[1]) / 1024:.1f}"] + v[2:]
        base = data[url].get(runs[0])
        for run in runs[1:]:
            v = data[url].get(run)
            if (v is None or base is None or v[0] != "200" or
                    base[0] != "200" or float(base[2]) <= 0):
                cells.append("-")
            else:
                cells.append(f"{float(v[2]) / float(base[2]):.1f}")
        print("| " + " | ".join(cells) + " |")
    print("(ms: median, p90, max of curl's time_total; ttfb: median of "
          "time_starttransfer - time_pretransfer)")
    return 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--table":
        i = sys.argv.index("--")
        return table(sys.argv[2:i], sys.argv[i + 1])
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    return one(sys.argv[1])


if __name__ == "__main__":
    sys.exit(main())
