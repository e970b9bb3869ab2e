# server/config.c, compiled on its own: gw_server links the whole server.
gw_unit_test(test_config
	SOURCES ${CMAKE_SOURCE_DIR}/server/config.c
		${CMAKE_SOURCE_DIR}/server/proxy.c
		${CMAKE_SOURCE_DIR}/server/config_profile.c
		${CMAKE_SOURCE_DIR}/server/template.c test_config.c
	LIBS gw_common PkgConfig::INIH)
target_include_directories(test_config PRIVATE ${CMAKE_SOURCE_DIR}/server)
