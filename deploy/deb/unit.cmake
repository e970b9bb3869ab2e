# cmake -DIN=deploy/scepgw.service -DOUT=FILE -P unit.cmake
# The Debian package's unit, made from deploy/scepgw.service at build
# time: its leading comment (the by-hand install of README "Running under
# systemd") becomes one naming the package, /usr/local/bin/ becomes
# /usr/bin/, and Documentation= points at the installed man page and
# README. Every other line is kept as it is.
file(READ ${IN} _unit)
string(FIND "${_unit}" "\n[Unit]\n" _at)
if(_at EQUAL -1)
	message(FATAL_ERROR "unit.cmake: ${IN} has no [Unit] section")
endif()
math(EXPR _at "${_at} + 1")
string(SUBSTRING "${_unit}" ${_at} -1 _unit)
string(REPLACE "/usr/local/bin/" "/usr/bin/" _unit "${_unit}")
string(REGEX REPLACE "\nDocumentation=[^\n]*\n"
	"\nDocumentation=man:scepgw(8) file:///usr/share/doc/scepgw/README.md.gz\n"
	_unit "${_unit}")
if(_unit MATCHES "/usr/local" OR
    NOT _unit MATCHES "\nExecStart=/usr/bin/scepgw ")
	message(FATAL_ERROR "unit.cmake: ${IN}: ExecStart= is not "
		"/usr/local/bin/scepgw, or another /usr/local path remains")
endif()
file(WRITE ${OUT}
"# scepgw as a sandboxed systemd service, as the Debian package installs it\n"
"# (README \"Installing the Debian package\", \"Running under systemd\").\n"
"# Not enabled on install: after `scepgw init`, systemctl enable --now scepgw.\n"
"# Local changes: systemctl edit scepgw (a drop-in), not this file.\n"
"${_unit}")
