#!/usr/bin/env bash
# README "Set up an instance" and "Privileges": the secret files (RA key,
# [epki] password_file, a profile's static_challenge_file) belong to the
# service user, the config stays root's, and root runs the commands. Run
# as root, `check`, `challenge new` and `cert revoke` read those files
# (still mode 0600, no links), and `serve` started as root with
# [server] user reads the static secret before the drop. serve keeps the
# owner rule: after the drop, a static secret of another user is refused;
# run as root with allow_root, one of the service user's is refused.
. "$GW_SRC/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || gw_skip "needs root (CI runs the cases as root)"
gw_need useradd openssl
U=scepgw-test
id -u "$U" >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$U" ||
    gw_fail "cannot create user $U"
gw_tmpdir
gw_start_sim
gw_init
secret=$(openssl rand -hex 16)
(umask 077 && printf '%s\n' "$secret" >"$GW_DIR/static.txt")
gw_conf_set "profile shared" challenge static
gw_conf_set "profile shared" static_challenge_file static.txt
SIM_ORDERS0=$(sim_orders)

# The layout of README "Privileges": config and folders root's, the
# user's secrets, the database in a folder of the user's.
chmod 755 "$T" "$GW_DIR"
chmod 644 "$GW_CONF"
install -d -o "$U" -g "$(id -g "$U")" -m 700 "$T/db"
mv "$GW_DIR/scepgw.db" "$T/db/scepgw.db"
gw_conf_set db path "$T/db/scepgw.db"
chown "$U:" "$GW_DIR/ra.key" "$GW_DIR/epki.password" "$GW_DIR/static.txt" "$T/db/scepgw.db"
gw_conf_set server allow_root no
gw_conf_set server user "$U"

# Root's commands on the user's files.
rc=0
"$GW_BUILD/scepgw" check -c "$GW_CONF" >"$T/check.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || gw_fail "check as root exited $rc: $(cat "$T/check.out")"
for line in "EPKI password file" "RA key permissions" "RA certificate:" "EPKI credentials" "EPKI profile"; do
	gw_assert_contains "$T/check.out" "^OK +$line" "check as root"
done
c=$(gw_challenge --cn rooted)

# serve as root, dropping to the user: it read the static secret as root.
gw_start
enroll_expect shared SUCCESS --url "$GW_URL/shared" --challenge "$secret" --cn shared
enroll_expect rooted SUCCESS --challenge "$c"
gw_assert_contains "$T/scepgw.log" "running as $U"
gw_stop
serial=$(openssl x509 -in "$T/rooted.pem" -noout -serial | cut -d= -f2)
gw_assert_ok "cert revoke as root" "$GW_BUILD/scepgw" cert revoke -c "$GW_CONF" "$serial"
"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/list.out"
gw_assert_contains "$T/list.out" "^$serial .* REVOKED"
gw_assert_eq 2 "$(sim_orders)" "orders at epki-sim"

# refused NAME REGEX: serve exits 1, its log matching REGEX.
refused() {
	local rc=0
	gw_run "$T/$1.log" 60 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
	[ "$rc" -eq 1 ] || gw_fail "$1: serve exited $rc, not 1: $(cat "$T/$1.log")"
	gw_assert_contains "$T/$1.log" "$2" "$1"
}
# After the drop the static secret must be the user's (or root's).
chown nobody: "$GW_DIR/static.txt"
refused static-other "\[profile shared\] static_challenge_file: .*static\.txt"
# Root serving itself holds the files to root's ownership, as before.
chown "$U:" "$GW_DIR/static.txt"
chown root: "$T/db/scepgw.db" "$GW_DIR/ra.key" "$GW_DIR/epki.password"
gw_conf_set server user ""
sed -i '/^user = $/d' "$GW_CONF"
gw_conf_set server allow_root yes
refused static-root "\[profile shared\] static_challenge_file: .*static\.txt: owned by uid $(id -u "$U"), not by us"
