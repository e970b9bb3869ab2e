#!/usr/bin/env bash
# `scepgw init --user NAME --db-url URL --db-password-file F` (README
# "Installing the Debian package"): run as root, the copied db.password is
# NAME's (0600) from its creation, with the RA key and the EPKI password;
# the config stays root's, and `scepgw check` passes as NAME. --db-path
# with --db-url is a usage error. Without PostgreSQL or root: skipped.
. "$GW_SRC/tests/integration/lib.sh"
. "$GW_SRC/tests/lib/pg.sh"
[ "$(id -u)" = 0 ] || gw_skip "needs root (it makes a system user)"
gw_need useradd userdel runuser
gw_tmpdir
gw_pg_start --tcp
gw_start_sim

U=gwinitpg$$
useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$U" || gw_fail "useradd $U"
del_user() { userdel "$U"; }
# USER's own copy of the program, run from /: the build folder may be out
# of its reach (a private checkout, as a CI's clone in a 0700 folder).
as_user() {
	if [ ! -x "$T/bin/scepgw" ]; then
		install -d -m 755 "$T/bin" && install -m 755 "$GW_BUILD/scepgw" "$T/bin/scepgw" ||
		    gw_fail "copy scepgw for $U"
	fi
	(cd / && runuser -u "$U" -- "$T/bin/scepgw" "$@")
}
GW__CLEANUP_HOOKS+=(del_user)

(umask 077 && printf '%s\n' "$GW_SIM_PASSWORD" >"$T/epki.password")
(umask 077 && printf '%s\n' "$GW_PG_PASSWORD" >"$T/db.password")
URL="postgresql://scepgw@127.0.0.1:$GW_PG_PORT/scepgw"
# run_init [OPTION...]: init into $T/etc, output in $T/init.out; sets rc.
run_init() {
	rc=0
	"$GW_BUILD/scepgw" init --dir "$T/etc" --epki-url "$SIM_URL" \
	    --epki-user "$GW_SIM_USER" --epki-password-file "$T/epki.password" \
	    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
	    --self-signed-ra --user "$U" --db-url "$URL" \
	    --db-password-file "$T/db.password" "$@" >"$T/init.out" 2>&1 || rc=$?
}

run_init --db-path "$T/x.db"
gw_assert_eq 2 "$rc" "--db-path with --db-url"
[ ! -e "$T/etc" ] || gw_fail "a refused init made $T/etc"

run_init
gw_assert_eq 0 "$rc" "init --user --db-url (init.out: $(tail -n 3 "$T/init.out"))"
gw_assert_eq "root:root 644" "$(stat -c '%U:%G %a' "$T/etc/scepgw.conf")" "scepgw.conf"
for f in db.password epki.password ra.key; do
	gw_assert_eq "$U:$U 600" "$(stat -c '%U:%G %a' "$T/etc/$f")" "$f"
done
GW_CONF=$T/etc/scepgw.conf
gw_assert_eq "$URL" "$(gw_conf_get db url)" "[db] url"
gw_assert_eq "" "$(gw_conf_get db path)" "[db] path"
as_user check -c "$GW_CONF" >"$T/check.log" 2>&1 ||
    gw_fail "scepgw check as $U failed (check.log)"
