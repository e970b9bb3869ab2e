# The Debian package (README "Installing the Debian package"): CPack's DEB
# generator turns the install() rules of each folder into
# scepgw_<GW_VERSION>-1_<arch>.deb. deploy/package.sh runs it.
#   server/   /usr/bin/scepgw
#   deploy/   the systemd unit, man pages, example config (a conffile),
#             copyright, maintainer scripts (deploy/deb/); changelog.Debian.gz
#             is written at packaging time (deploy/deb/changelog.cmake)
#   ./        README.md.gz in /usr/share/doc/scepgw
# epki-sim is a test tool: it is not installed.
include(GNUInstallDirs)

set(GW_PKG_MAINTAINER "scepgw authors <scepgw@example.org>" CACHE STRING
	"Maintainer field of the Debian package (name <address>)")

# gw_install_gz(SRC DESTINATION): SRC compressed as Debian wants
# (gzip -9n: best, no name or time stamp, so the same input gives the same
# bytes), built with everything, installed into DESTINATION as NAME.gz.
function(gw_install_gz src dest)
	get_filename_component(_name ${src} NAME)
	file(RELATIVE_PATH _rel ${CMAKE_SOURCE_DIR} ${src})
	string(MAKE_C_IDENTIFIER "gz_${_rel}" _target)
	set(_gz ${CMAKE_CURRENT_BINARY_DIR}/gz/${_name}.gz)
	add_custom_command(OUTPUT ${_gz}
		COMMAND ${CMAKE_COMMAND} -E make_directory
			${CMAKE_CURRENT_BINARY_DIR}/gz
		COMMAND sh -c "gzip -9n <\"$0\" >\"$1\"" ${src} ${_gz}
		DEPENDS ${src} VERBATIM)
	add_custom_target(${_target} ALL DEPENDS ${_gz})
	install(FILES ${_gz} DESTINATION ${dest})
endfunction()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME scepgw)
set(CPACK_PACKAGE_VERSION ${GW_VERSION})
set(CPACK_PACKAGE_CONTACT ${GW_PKG_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
	"SCEP gateway to GlobalSign Enterprise PKI")
set(CPACK_PACKAGE_DESCRIPTION
"scepgw lets SCEP clients (iOS and macOS profiles, Intune, MDMs, sscep,
certmonger, routers) get GlobalSign PersonalSign certificates: it checks
a one-time challenge, orders the certificate from GlobalSign's EPKI SOAP
API and returns it in a signed, encrypted SCEP CertRep (RFC 8894).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
	OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
	WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
	${CMAKE_SOURCE_DIR}/deploy/deb/conffiles
	${CMAKE_SOURCE_DIR}/deploy/deb/postinst
	${CMAKE_SOURCE_DIR}/deploy/deb/prerm
	${CMAKE_SOURCE_DIR}/deploy/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/deploy/deb/changelog.cmake)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/package)
include(CPack)
