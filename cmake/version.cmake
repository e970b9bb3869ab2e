# GW_VERSION: the version scepgw reports (--version, its User-Agent, the
# Debian package), read once at configure time:
#   -DGW_VERSION=...                   when given;
#   PROJECT_VERSION                    when HEAD is tagged vPROJECT_VERSION;
#   PROJECT_VERSION+gitYYYYMMDDhhmmss.SHA   otherwise (the commit's UTC
#                                      time, so later commits sort higher
#                                      for dpkg), with .dirty appended when
#                                      tracked files differ from HEAD;
#   PROJECT_VERSION                    outside a git checkout.
# Each form is a valid Debian upstream version.
if(NOT DEFINED GW_VERSION OR GW_VERSION STREQUAL "")
	set(GW_VERSION ${PROJECT_VERSION})
	find_package(Git QUIET)
	if(GIT_FOUND AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
		execute_process(
			COMMAND ${GIT_EXECUTABLE} describe --tags --exact-match
				--match v${PROJECT_VERSION} HEAD
			WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
			RESULT_VARIABLE _tagged OUTPUT_QUIET ERROR_QUIET)
		execute_process(
			COMMAND ${CMAKE_COMMAND} -E env TZ=UTC
				${GIT_EXECUTABLE} log -1 --date=format-local:%Y%m%d%H%M%S
				--format=%cd.%h HEAD
			WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
			OUTPUT_VARIABLE _stamp OUTPUT_STRIP_TRAILING_WHITESPACE
			RESULT_VARIABLE _log ERROR_QUIET)
		execute_process(
			COMMAND ${GIT_EXECUTABLE} diff --quiet HEAD --
			WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
			RESULT_VARIABLE _dirty OUTPUT_QUIET ERROR_QUIET)
		if(NOT _tagged EQUAL 0 AND _log EQUAL 0 AND _stamp)
			set(GW_VERSION ${PROJECT_VERSION}+git${_stamp})
		endif()
		if(_log EQUAL 0 AND NOT _dirty EQUAL 0)
			set(GW_VERSION ${GW_VERSION}.dirty)
		endif()
	endif()
endif()
message(STATUS "scepgw version ${GW_VERSION}")
