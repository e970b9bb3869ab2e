# cmake -DSCEPGW=BIN -DCHAIN=PEM -DOUT=FILE -P example-conf.cmake
# Writes the example config the Debian package ships as a conffile: the
# complete, commented file `scepgw init` writes (every key, its default),
# made by running init with a self-signed RA in a scratch folder (no
# network), with the account placeholders README "Set up an instance"
# uses and the database in /var/lib/scepgw. CHAIN is any PEM certificate:
# init only copies it.
foreach(_v SCEPGW CHAIN OUT)
	if(NOT ${_v})
		message(FATAL_ERROR "example-conf.cmake: -D${_v}= is required")
	endif()
endforeach()
get_filename_component(_outdir ${OUT} DIRECTORY)
set(_tmp ${_outdir}/.scepgw-example.tmp)
file(REMOVE_RECURSE ${_tmp})
file(MAKE_DIRECTORY ${_tmp})
file(WRITE ${_tmp}/epki.password "placeholder\n")
file(CHMOD ${_tmp}/epki.password PERMISSIONS OWNER_READ OWNER_WRITE)
execute_process(
	COMMAND ${SCEPGW} init --dir ${_tmp}/i --self-signed-ra
		--epki-user PAR12345_UserID
		--epki-password-file ${_tmp}/epki.password
		--profile-id MP201604143456 --ca-chain ${CHAIN}
	RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(NOT _rc EQUAL 0)
	file(REMOVE_RECURSE ${_tmp})
	message(FATAL_ERROR "example-conf.cmake: scepgw init failed: ${_out}")
endif()
file(READ ${_tmp}/i/scepgw.conf _conf)
file(REMOVE_RECURSE ${_tmp})
string(REPLACE "\npath = scepgw.db\n" "\npath = /var/lib/scepgw/scepgw.db\n"
	_conf "${_conf}")
if(NOT _conf MATCHES "\npath = /var/lib/scepgw/scepgw.db\n")
	message(FATAL_ERROR "example-conf.cmake: no [db] path line to set")
endif()
file(WRITE ${OUT}
"; Example only. The gateway reads /etc/scepgw/scepgw.conf, which\n"
"; `scepgw init --dir /etc/scepgw ...` writes for your instance (README\n"
"; \"Installing the Debian package\", scepgw.conf(5)); this file shows\n"
"; every key with its default, as init writes them.\n"
"${_conf}")
