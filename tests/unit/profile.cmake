# server/config_profile.c with config.c: [profile NAME] sections.
gw_unit_test(test_profile
	SOURCES ${CMAKE_SOURCE_DIR}/server/config.c
		${CMAKE_SOURCE_DIR}/server/proxy.c
		${CMAKE_SOURCE_DIR}/server/config_profile.c
		${CMAKE_SOURCE_DIR}/server/template.c test_profile.c
	LIBS gw_common PkgConfig::INIH)
target_include_directories(test_profile PRIVATE ${CMAKE_SOURCE_DIR}/server)
