# gw_scepclient: the test-only SCEP client library, and scepreq, the
# command-line client that integration tests and the load test drive.
if(TARGET gw_scep)
	add_library(gw_scepclient STATIC
		${CMAKE_CURRENT_LIST_DIR}/scep_client.c)
	target_include_directories(gw_scepclient PUBLIC
		${CMAKE_CURRENT_LIST_DIR})
	target_link_libraries(gw_scepclient PUBLIC gw_scep gw_common
		OpenSSL::Crypto PkgConfig::CURL)
	gw_target_flags(gw_scepclient)

	if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/scepreq.c)
		add_executable(scepreq ${CMAKE_CURRENT_LIST_DIR}/scepreq.c
			${CMAKE_CURRENT_LIST_DIR}/scepreq_http.c)
		target_link_libraries(scepreq PRIVATE gw_scepclient)
		set_target_properties(scepreq PROPERTIES
			RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
		gw_target_flags(scepreq)
	endif()
endif()
