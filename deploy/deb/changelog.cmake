# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS, cmake/package.cmake):
# writes usr/share/doc/scepgw/changelog.Debian.gz into the staged package
# for the version being packaged, so that a package made with
# deploy/package.sh --version names that version too. One entry.
set(_doc ${CPACK_TEMPORARY_INSTALL_DIRECTORY}/usr/share/doc/scepgw)
if(NOT IS_DIRECTORY ${_doc})
	message(FATAL_ERROR "changelog.cmake: no ${_doc} in the staged package")
endif()
set(GW_DEB_VERSION
	${CPACK_PACKAGE_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE})
set(GW_PKG_MAINTAINER ${CPACK_PACKAGE_CONTACT})
string(TIMESTAMP GW_PKG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${CMAKE_CURRENT_LIST_DIR}/changelog.in ${_doc}/changelog.Debian
	@ONLY)
execute_process(COMMAND gzip -9nf ${_doc}/changelog.Debian
	COMMAND_ERROR_IS_FATAL ANY)
