#!/usr/bin/env bash
# `scepgw init --user NAME --db-path PATH` (README "Installing the Debian
# package"): run as root, it leaves the config and the folder root's and
# gives the service user its secrets (RA key, EPKI password, also one
# named in place) and its SQLite database from their creation, with the
# config's [db] path on it; `scepgw check` passes as that user. It refuses,
# before writing anything or ordering at GlobalSign, a caller that is not
# root, an unknown user, an instance folder the user could write (README
# "Privileges") and a database folder the user cannot write.
. "$GW_SRC/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || gw_skip "needs root (it makes a system user)"
gw_need useradd userdel runuser setpriv
gw_tmpdir
gw_start_sim

# A throwaway system user, unique to this run, deleted at exit.
U=gwinit$$
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

chmod 755 "$T" # the user reaches the instance below it, as /etc
mkdir -m 700 "$T/lib" && chown "$U:" "$T/lib"
mkdir -m 755 "$T/rootonly"
(umask 077 && printf '%s\n' "$GW_SIM_PASSWORD" >"$T/epki.password")

# run_init DIR [OPTION...]: init against the sim, output in $T/init.out;
# sets rc.
run_init() {
	local dir=$1
	shift
	rc=0
	"$@" "$GW_BUILD/scepgw" init --dir "$dir" --epki-url "$SIM_URL" \
	    --epki-user "$GW_SIM_USER" --epki-password-file "$PWFILE" \
	    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
	    --self-signed-ra $OPTS >"$T/init.out" 2>&1 || rc=$?
}
# owner_mode FILE: "user:group mode".
owner_mode() { stat -c '%U:%G %a' "$1"; }

# The refusals first: nothing written, nothing ordered.
PWFILE=$T/epki.password
OPTS="--user $U --db-path $T/lib/x.db"
run_init "$T/lib/notroot" setpriv --reuid "$U" --regid "$U" --clear-groups
gw_assert_eq 1 "$rc" "--user when not root"
gw_assert_contains "$T/init.out" "needs root"
OPTS="--user gw-no-such-user-$$ --db-path $T/lib/x.db"
run_init "$T/nouser"
gw_assert_eq 1 "$rc" "--user of an unknown user"
gw_assert_contains "$T/init.out" "no such user"
OPTS="--user $U --db-path $T/rootonly/scepgw.db"
run_init "$T/nowrite"
gw_assert_eq 1 "$rc" "--db-path in a folder the user cannot write"
gw_assert_contains "$T/init.out" "user $U cannot write in $T/rootonly"
OPTS="--user $U" # the database next to the config: root's folder
run_init "$T/nodbpath"
gw_assert_eq 1 "$rc" "--user with the database in the config's folder"
gw_assert_contains "$T/init.out" "cannot write in $T/nodbpath"
OPTS="--user $U --db-path $T/lib/x.db" # a folder the user could rewrite
mkdir -m 755 "$T/userdir" && chown "$U:" "$T/userdir"
run_init "$T/userdir/etc"
gw_assert_eq 1 "$rc" "an instance in a folder of the user's"
gw_assert_contains "$T/init.out" "run: chown root $T/userdir"
[ ! -e "$T/userdir/etc" ] || gw_fail "a refused init made $T/userdir/etc"
OPTS="--user $U --db-path lib/scepgw.db"
run_init "$T/relative"
gw_assert_eq 2 "$rc" "a relative --db-path"
gw_assert_contains "$T/init.out" "absolute path"
for d in notroot nouser nowrite nodbpath relative; do
	[ ! -e "$T/$d" ] && [ ! -e "$T/lib/$d" ] ||
	    gw_fail "a refused init left $d behind"
done
gw_assert_eq "" "$(find "$T/lib" "$T/rootonly" -mindepth 1)" \
    "files of a refused init"
gw_assert_eq 0 "$(sim_orders)" "orders of refused inits"

# The happy path: owners and modes of everything init wrote.
OPTS="--user $U --db-path $T/lib/scepgw.db"
run_init "$T/etc"
gw_assert_eq 0 "$rc" "init --user (init.out: $(tail -n 3 "$T/init.out"))"
E=$T/etc
gw_assert_eq "root:root 755" "$(owner_mode "$E")" "the instance folder"
gw_assert_eq "root:root 644" "$(owner_mode "$E/scepgw.conf")" "scepgw.conf"
gw_assert_eq "root:root 644" "$(owner_mode "$E/ra.pem")" "ra.pem"
gw_assert_eq "root:root 644" "$(owner_mode "$E/ca-chain.pem")" "ca-chain.pem"
gw_assert_eq "$U:$U 600" "$(owner_mode "$E/ra.key")" "ra.key"
gw_assert_eq "$U:$U 600" "$(owner_mode "$E/epki.password")" "epki.password"
gw_assert_eq "$U:$U 600" "$(owner_mode "$T/lib/scepgw.db")" "the database"
gw_assert_eq "" "$(find "$T/lib" -mindepth 1 ! -user "$U")" \
    "files beside the database that are not $U's"
gw_assert_eq "" "$(find "$E" -name '*.tmp.*')" "temporary files left"
gw_assert_eq "" "$(find "$E" -mindepth 1 ! -name ra.pem ! -name ca-chain.pem \
    ! -name scepgw.conf ! -name ra.key ! -name epki.password)" \
    "other files in the instance"
GW_CONF=$E/scepgw.conf
gw_assert_eq "$T/lib/scepgw.db" "$(gw_conf_get db path)" "[db] path"
as_user check -c "$GW_CONF" >"$T/check.log" 2>&1 ||
    gw_fail "scepgw check as $U failed (check.log)"

# The EPKI password named in place, as README's flow does: init gives
# that file to the user rather than copying it onto itself.
mkdir -m 755 "$T/etc2" && mkdir -m 700 "$T/lib2" && chown "$U:" "$T/lib2"
(umask 077 && printf '%s\n' "$GW_SIM_PASSWORD" >"$T/etc2/epki.password")
PWFILE=$T/etc2/epki.password
OPTS="--user $U --db-path $T/lib2/scepgw.db"
run_init "$T/etc2"
gw_assert_eq 0 "$rc" "init --user, password in place"
gw_assert_eq "$U:$U 600" "$(owner_mode "$T/etc2/epki.password")" \
    "epki.password named in place"
as_user check -c "$T/etc2/scepgw.conf" \
    >"$T/check2.log" 2>&1 || gw_fail "scepgw check as $U failed (check2.log)"

# --force over it (the user's files already): init redoes the instance.
run_init "$T/etc2"
gw_assert_contains "$T/init.out" "already an instance"
OPTS="$OPTS --force"
run_init "$T/etc2"
gw_assert_eq 0 "$rc" "init --user --force"
gw_assert_eq "$U:$U 600" "$(owner_mode "$T/etc2/ra.key")" "ra.key after --force"
