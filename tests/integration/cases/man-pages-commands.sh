#!/usr/bin/env bash
# scepgw(8) documents every command of `scepgw --help` (an ".It Cm WORDS"
# entry starting with the command's words, both of "user list | remove")
# and every option it shows (an "Fl -OPTION" or "Fl X"), and epki-sim(1)
# every option of epki-sim's usage: a new command or option without a man
# entry fails here. Reads the mdoc source; needs no mandoc.
. "$GW_SRC/tests/integration/lib.sh"
gw_tmpdir
MAN8=$GW_SRC/deploy/man/scepgw.8
MAN1=$GW_SRC/deploy/man/epki-sim.1

"$GW_BUILD/scepgw" --help >"$T/help" || gw_fail "scepgw --help exited $?"

# Command lines of the usage: two spaces, then lower-case words, up to the
# two blanks before the description; each alternative after " | " shares
# the first word ("user list | remove NAME").
awk '/^  [a-z]/ {
	line = substr($0, 3)
	sub(/  .*/, "", line)
	n = split(line, alt, / \| /)
	first = ""
	for (i = 1; i <= n; i++) {
		m = split(alt[i], w, " ")
		cmd = ""
		for (j = 1; j <= m && w[j] ~ /^[a-z][a-z-]*$/; j++)
			cmd = cmd (cmd == "" ? "" : " ") w[j]
		if (i == 1) {
			split(cmd, f, " ")
			first = f[1]
		} else if (cmd == "")
			continue
		else if (cmd !~ ("^" first " "))
			cmd = first " " cmd
		print cmd
	}
}' "$T/help" | sort -u >"$T/commands"
[ "$(wc -l <"$T/commands")" -ge 12 ] ||
    gw_fail "read only $(wc -l <"$T/commands") commands from --help: $(cat "$T/commands")"

missing=
while read -r cmd; do
	grep -q -E "^\.It Cm ${cmd}( |$)" "$MAN8" || missing="$missing '$cmd'"
done <"$T/commands"
[ -z "$missing" ] ||
    gw_fail "scepgw.8 has no \".It Cm …\" entry for the command(s)$missing of scepgw --help"

# opts FILE: the options FILE shows, --long and -X, one a line.
opts() {
	grep -o -E '(^|[][ (|])--?[A-Za-z][a-z-]*' "$1" | sed 's/^[][ (|]//' | sort -u
}
# has_opt PAGE OPT: the page marks OPT up as a flag.
has_opt() {
	grep -q -E "Fl ${2#-}( |$)" "$1"
}
missing=
while read -r o; do
	has_opt "$MAN8" "$o" || missing="$missing $o"
done < <(opts "$T/help")
[ -z "$missing" ] || gw_fail "scepgw.8 does not document the option(s)$missing of scepgw --help"

rc=0
"$GW_BUILD/epki-sim" --help >"$T/sim-help" 2>&1 || rc=$?
gw_assert_eq 2 "$rc" "epki-sim --help exit status (usage)"
missing=
while read -r o; do
	has_opt "$MAN1" "$o" || missing="$missing $o"
done < <(opts "$T/sim-help")
[ -z "$missing" ] || gw_fail "epki-sim.1 does not document the option(s)$missing of epki-sim's usage"
