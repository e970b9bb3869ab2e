#!/usr/bin/env bash
# `scepgw serve` refuses to run as root unless [server] allow_root = yes;
# with [server] user = NAME it binds the listener as root, drops to that
# user (groups, group, user; root cannot be regained) and only then opens
# the secrets and the database, so the RA key must belong to that user.
# Started as root, it refuses a config that anyone but root could rewrite;
# the database must be the user's, mode 0600; and it never dumps core.
. "$GW_SRC/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || gw_skip "needs root (CI runs the cases as root)"
gw_need useradd ps
U=scepgw-test
id -u "$U" >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$U" ||
    gw_fail "cannot create user $U"
gw_up
gw_stop
# `scepgw init` made the database private.
gw_assert_eq 600 "$(stat -c %a "$GW_DIR/scepgw.db")" "mode of the database init made"

# As root without allow_root: refused, with a message naming both keys.
gw_conf_set server allow_root no
rc=0
gw_run "$T/root.log" 60 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
[ "$rc" -ne 0 ] || gw_fail "serve ran as root without allow_root"
gw_assert_contains "$T/root.log" "refusing to serve as root.*\[server\] user.*allow_root"

# The layout README "Privileges" describes: the config and its folder
# root's (0644, 0755), the user owns only its secrets and the database
# folder, which is not the config's (SQLite writes its WAL files there).
gw_conf_set server user "$U"
chmod 755 "$T" "$GW_DIR"
chown root: "$GW_DIR" "$GW_CONF"
chmod 644 "$GW_CONF"
install -d -o "$U" -g "$(id -g "$U")" -m 700 "$T/db"
mv "$GW_DIR/scepgw.db" "$T/db/scepgw.db"
chown "$U:" "$T/db/scepgw.db" "$GW_DIR/epki.password"
gw_conf_set db path "$T/db/scepgw.db"

# refused NAME REGEX: serve (as root) exits 1 with a message matching.
refused() {
	local rc=0
	gw_run "$T/$1.log" 60 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
	[ "$rc" -eq 1 ] || gw_fail "$1: serve exited $rc, not 1"
	gw_assert_contains "$T/$1.log" "$2" "$1"
}

# Started as root, serve reads nothing that anyone but root can rewrite:
# a config owned by the user, or group- or world-writable, and a folder
# above it that is, are refused before the config is read.
chown "$U:" "$GW_CONF"
refused conf-owner "refusing to start as root: the config $GW_CONF is owned by uid $(id -u "$U")"
chown root: "$GW_CONF"
chmod 664 "$GW_CONF"
refused conf-mode "refusing to start as root: the config $GW_CONF is mode 664"
chmod 644 "$GW_CONF"
chmod 775 "$GW_DIR"
refused dir-mode "refusing to start as root: the folder $GW_DIR is mode 775"
chmod 757 "$GW_DIR"
refused dir-world "the folder $GW_DIR is mode 757"
chmod 755 "$GW_DIR"
chown "$U:" "$GW_DIR"
refused dir-owner "the folder $GW_DIR is owned by uid $(id -u "$U")"
chown root: "$GW_DIR"
chmod 775 "$T"
refused parent-mode "the folder $T is mode 775"
chmod 755 "$T"
# Through a symbolic link: the file it leads to is checked too.
ln -s "$GW_CONF" "$T/link.conf"
chown "$U:" "$GW_CONF"
rc=0
gw_run "$T/link.log" 60 "$GW_BUILD/scepgw" serve -c "$T/link.conf" || rc=$?
[ "$rc" -eq 1 ] || gw_fail "link: serve exited $rc, not 1"
gw_assert_contains "$T/link.log" "the config $GW_CONF is owned by uid"
chown root: "$GW_CONF"
rm "$T/link.conf"

# A user, but the RA key still root's: refused after the drop.
chown root: "$GW_DIR/ra.key"
refused owner "\[ra\] key: .* not by \[server\] user $U"
chown "$U:" "$GW_DIR/ra.key"

# The database must be the user's and private: mode 0644 is refused, and
# so is a database not owned by the user serve runs as (here root with
# allow_root, the database still the user's).
chmod 644 "$T/db/scepgw.db"
refused db-mode "\[db\] path: $T/db/scepgw\.db: mode 644 .*chmod 600"
chmod 600 "$T/db/scepgw.db"
gw_conf_set server user ""
sed -i '/^user = $/d' "$GW_CONF"
gw_conf_set server allow_root yes
chown root: "$GW_DIR/ra.key" "$GW_DIR/epki.password"
refused db-owner "\[db\] path: $T/db/scepgw\.db: owned by uid $(id -u "$U"), not by uid 0"
chown "$U:" "$GW_DIR/ra.key" "$GW_DIR/epki.password"
gw_conf_set server allow_root no
gw_conf_set server user "$U"

# Everything in place: serve runs as the user and enrolls.
gw_start
uid=$(ps -o uid= -p "$GW_PID" | tr -d ' ')
gw_assert_eq "$(id -u "$U")" "$uid" "uid of scepgw serve"
gw_assert_eq "$(id -u "$U")" "$(ps -o ruid= -p "$GW_PID" | tr -d ' ')" "real uid"
gw_assert_eq "$(id -g "$U")" "$(ps -o gid= -p "$GW_PID" | tr -d ' ')" "gid"
grep -q "^Groups:[[:space:]]*$(id -g "$U")[[:space:]]*$" "/proc/$GW_PID/status" ||
    gw_fail "supplementary groups: $(grep ^Groups: "/proc/$GW_PID/status")"
gw_assert_contains "$T/scepgw.log" "running as $U"
enroll_expect dropped SUCCESS --challenge "$(gw_challenge)" --cn dropped
gw_stop

# Started as the user itself (as systemd's User= does): the config check
# does not apply, and serve makes itself non-dumpable (no core dumps, no
# ptrace by the user's other processes). The kernel shows that as
# /proc/PID owned by root instead of the process's user.
port=$(gw_free_port)
gw_conf_set server listen "127.0.0.1:$port"
gw_spawn "$T/user.log" setpriv --reuid "$U" --regid "$(id -g "$U")" \
    --clear-groups "$GW_BUILD/scepgw" serve -c "$GW_CONF"
pid=$GW_LAST_PID
for ((i = 0; i < 100; i++)); do
	gw_caps_ok "http://127.0.0.1:$port/scep" && break
	kill -0 "$pid" 2>/dev/null || gw_fail "serve as $U died: $(cat "$T/user.log")"
	sleep 0.1
done
gw_assert_eq "$(id -u "$U")" "$(ps -o uid= -p "$pid" | tr -d ' ')" "uid when started as $U"
gw_assert_eq 0 "$(stat -c %u "/proc/$pid/status")" "owner of /proc/PID/status (dumpable?)"
gw__kill "$pid" || gw_fail "serve as $U exited non-zero on SIGTERM"
