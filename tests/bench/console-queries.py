#!/usr/bin/python3
"""EXPLAIN QUERY PLAN and time of the console's and API lists' queries.

console-queries.py DB_SQ_INT_H DATABASE TXID SERIAL
console-queries.py --pg-log SERVER_LOG

Reads the statements from db/db_sq_int.h (the DB_STMTS table the SQLite
backend prepares, so the SQL is the gateway's own), runs each of the
variants below on DATABASE (read-only) with the bindings given, and
prints per variant: the median time of 15 runs (all rows fetched, after
one untimed) in ms, the rows, and the plan, marking a SCAN of a table
(not of an index) or a temporary B-tree for ORDER BY/GROUP BY.
With --pg-log: the statements PostgreSQL's auto_explain logged in
SERVER_LOG (those slower than its log_min_duration), one entry per
distinct query text: how often, median and max duration, and the plan of
the slowest. Uses Python's sqlite3 module: run it with /usr/bin/python3, whose SQLite
is Debian's libsqlite3, the one the gateway links.
"""
import re
import sqlite3
import sys
import time


def statements(header):
    text = open(header).read()
    defs = {}
    for name in ("DB_TXN_COLS", "DB_SQ_NOW"):
        m = re.search(r"#define " + name + r"((?:[^\n]*\\\n)*[^\n]*)\n", text)
        defs[name] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)))
    m = re.search(r"#define DB_STMTS\(X\)((?:[^\n]*\\\n)*[^\n]*)\n", text)
    body = m.group(1).replace("\\\n", " ")
    out = {}
    tok = r'"(?:[^"\\]|\\.)*"|DB_TXN_COLS|DB_SQ_NOW'
    for m in re.finditer(r"X\((\w+),\s*((?:(?:" + tok + r")\s*)+)\)", body):
        sql = ""
        for t in re.findall(tok, m.group(2)):
            sql += defs[t] if t in defs else t[1:-1]
        out[m.group(1)] = sql.replace('\\"', '"')
    return out


def variants(now, txid, serial):
    """(label, statement, bindings): what the dashboard (README "Admin web
    console") and the JSON API lists (server/admin/api.c) run."""
    day = now - 24 * 3600 + 1
    return [
        ("dash: counts by state", "TX_COUNT", ()),
        ("dash: challenges outstanding", "CH_OUTSTANDING", (now,)),
        ("dash: per hour, 24 h", "TX_HOURLY", (day,)),
        ("dash: latest 10", "TX_LIST_FILTER", (0, None, 10)),
        ("dash: licence used", "LIC_USED", ("epki",)),
        ("api enrollments", "TX_LIST_FILTER", (0, None, 50)),
        ("api enrollments state=failed", "TX_LIST_FILTER", (3, None, 50)),
        ("api enrollments state=ordering", "TX_LIST_FILTER", (1, None, 50)),
        ("api enrollments cn=probe", "TX_LIST_CN", (0, "bench-probe", 50)),
        ("api enrollment TXID", "TX_GET", (txid,)),
        ("api challenges", "CH_LIST_STATE", (0, now, 50, 2**62)),
        ("api challenges state=unused", "CH_LIST_STATE", (1, now, 50, 2**62)),
        ("api challenges state=used", "CH_LIST_STATE", (2, now, 50, 2**62)),
        ("api challenges state=expired", "CH_LIST_STATE", (3, now, 50, 2**62)),
        ("api challenges state=revoked", "CH_LIST_STATE", (4, now, 50, 2**62)),
        ("cert detail SERIAL", "CERT_GET", (serial,)),
        ("cert renewal SERIAL", "CERT_RENEWAL", (serial,)),
        ("licence last error (check)", "LIC_LAST_ERROR", (-6101,)),
        ("licence last error, none", "LIC_LAST_ERROR", (-1,)),
        ("users", "USER_LIST", ()),
        ("login user", "USER_GET", ("bench-admin",)),
        # One statement per filter, so that an index can serve it (an
        # "?N IS NULL OR col = ?N" term keeps SQLite from using any): the
        # certificate searches are built so by db/db_cert_query.c; the
        # enrollment lists of the JSON API are proposals
        # (tests/bench/README.md "Console pages").
        ("proposed: enrollments cn=probe", "SQL:" + TXN_LIST_COLS +
         " WHERE cn = ?2 AND (?1 = 0 OR state = ?1) ORDER BY id DESC "
         "LIMIT ?3", (0, "bench-probe", 50)),
        ("proposed: enrollments state=ordering", "SQL:" + TXN_LIST_COLS +
         " WHERE state = ?1 ORDER BY id DESC LIMIT ?2", (1, 50)),
        ("proposed: certificates", "SQL:" + CERT_LIST_COLS +
         " ORDER BY c.issued DESC, c.serial_hex LIMIT ?1", (50,)),
        ("proposed: certificates cn=probe", "SQL:" + CERT_LIST_COLS +
         " JOIN transactions t ON t.txid = c.txid WHERE t.cn = ?1 "
         "ORDER BY c.issued DESC, c.serial_hex LIMIT ?2",
         ("bench-probe", 50)),
        ("proposed: certificates serial=", "SQL:" + CERT_LIST_COLS +
         " WHERE c.serial_hex = ?1", (serial,)),
    ]


TXN_LIST_COLS = ("SELECT id, txid, state, created, updated, cn, email, ou, "
                 "order_id, fail_info, fail_text, upn, epki_code, "
                 "epki_message FROM transactions")
CERT_LIST_COLS = ("SELECT c.serial_hex, c.order_id, c.txid, c.subject, "
                  "c.issued, c.not_after, c.revoked, c.revoke_reason "
                  "FROM certificates c")


def pg_log(path):
    """Groups auto_explain's entries in a PostgreSQL server log."""
    blocks = []
    cur = None
    for line in open(path, errors="replace"):
        m = re.search(r"duration: ([0-9.]+) ms  plan:", line)
        if m:
            cur = {"ms": float(m.group(1)), "text": "", "plan": []}
            blocks.append(cur)
        elif cur is not None and line.startswith(("\t", " ")):
            s = line.rstrip("\n").lstrip("\t")
            if s.startswith("Query Text: "):
                cur["text"] = s[12:]
            elif not s.startswith("Query Parameters: "):
                cur["plan"].append(s)
        else:
            cur = None
    groups = {}
    for b in blocks:
        groups.setdefault(b["text"], []).append(b)
    print(f"{len(blocks)} statements over the threshold, "
          f"{len(groups)} distinct")
    order = sorted(groups.items(),
                   key=lambda kv: -max(b["ms"] for b in kv[1]))
    for text, bs in order:
        ms = sorted(b["ms"] for b in bs)
        worst = max(bs, key=lambda b: b["ms"])
        print(f"\n{len(bs)}x, median {ms[len(ms) // 2]:.1f} ms, "
              f"max {ms[-1]:.1f} ms: {text[:300]}")
        for p in worst["plan"][:12]:
            print(f"    {p}")
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--pg-log":
        return pg_log(sys.argv[2])
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    sql = statements(sys.argv[1])
    db = sqlite3.connect(f"file:{sys.argv[2]}?mode=ro", uri=True)
    now = int(time.time())
    print(f"SQLite {sqlite3.sqlite_version}")
    worst = []
    for label, name, args in variants(now, sys.argv[3], sys.argv[4]):
        if name.startswith("SQL:"):
            q, name = name[4:], "rewrite"
        elif name not in sql:
            print(f"{label}: no statement {name} in {sys.argv[1]}")
            continue
        else:
            q = sql[name]
        plan = db.execute("EXPLAIN QUERY PLAN " + q, args).fetchall()
        rows = len(db.execute(q, args).fetchall())
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            db.execute(q, args).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        med = times[len(times) // 2]
        flags = []
        for p in plan:
            d = p[-1]
            if re.match(r"SCAN \w+( AS \w+)?$", d) or \
                    re.match(r"SCAN \w+ USING INTEGER PRIMARY KEY", d):
                flags.append("table scan")
            if "TEMP B-TREE" in d:
                flags.append("temp b-tree")
        mark = " <-- " + ", ".join(flags) if flags else ""
        print(f"\n{label} [{name}] {med:.2f} ms, {rows} rows{mark}")
        for p in plan:
            print(f"    {p[-1]}")
        worst.append((med, label))
    worst.sort(reverse=True)
    print("\nslowest: " + "; ".join(f"{label} {t:.1f} ms"
                                    for t, label in worst[:6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
