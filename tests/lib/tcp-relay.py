#!/usr/bin/env python3
"""A TCP relay on loopback for the tests that cut one process off a server
(tests/integration/cases/cluster-db-unreachable.sh).

    tcp-relay.py TARGET-PORT [TARGET-HOST]

listens on 127.0.0.1 on a port the kernel picks, prints "relay listening
on 127.0.0.1:PORT", and forwards every connection to TARGET-HOST
(127.0.0.1) : TARGET-PORT. Signals switch its mode:

    SIGUSR1  freeze: nothing is forwarded any more, in either direction, on
             the open connections; new connections are accepted and then
             left silent (a network that black-holes packets, with the
             sockets still open)
    SIGHUP   cut: every open connection is closed; new ones are accepted
             and closed at once (a server that went away)
    SIGUSR2  resume: forward again; connections held while frozen are
             connected to the target now

Each switch is logged as one line ("mode freeze", ...). Loopback only.
"""
import selectors
import signal
import socket
import sys

target = (sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1", int(sys.argv[1]))
sel = selectors.DefaultSelector()
mode = "pass"
want = None  # mode asked for by a signal, applied in the loop
pairs = {}  # socket -> peer socket (both directions)
held = []  # accepted while frozen, not connected upstream yet


def ask(m):
    def handler(signum, frame):
        global want
        want = m
    return handler


def close(s):
    peer = pairs.pop(s, None)
    for x in (s, peer):
        if x is None:
            continue
        pairs.pop(x, None)
        try:
            sel.unregister(x)
        except (KeyError, ValueError):
            pass
        x.close()


def link(c):
    try:
        u = socket.create_connection(target, timeout=5)
    except OSError:
        c.close()
        return
    u.setblocking(False)
    c.setblocking(False)
    pairs[c] = u
    pairs[u] = c
    sel.register(c, selectors.EVENT_READ)
    sel.register(u, selectors.EVENT_READ)


def set_mode(m):
    global mode
    mode = m
    if m == "cut":
        for s in list(pairs):
            close(s)
        for c in held:
            c.close()
        held.clear()
    elif m == "freeze":
        for s in pairs:
            sel.unregister(s)
    elif m == "pass":
        for s in pairs:
            sel.register(s, selectors.EVENT_READ)
        for c in held:
            link(c)
        held.clear()
    print("mode", m, flush=True)


def main():
    global want
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    signal.signal(signal.SIGUSR1, ask("freeze"))
    signal.signal(signal.SIGHUP, ask("cut"))
    signal.signal(signal.SIGUSR2, ask("pass"))
    print("relay listening on 127.0.0.1:%d" % ls.getsockname()[1], flush=True)
    while True:
        if want is not None:
            m, want = want, None
            if m != mode:
                if mode == "freeze" and m == "cut":
                    set_mode("pass")  # re-register, then close all
                set_mode(m)
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                if mode == "cut":
                    c.close()
                elif mode == "freeze":
                    held.append(c)
                else:
                    link(c)
                continue
            if s not in pairs:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                close(s)
                continue
            try:
                pairs[s].setblocking(True)
                pairs[s].sendall(data)
                pairs[s].setblocking(False)
            except OSError:
                close(s)


if __name__ == "__main__":
    main()
