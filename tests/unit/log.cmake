# server/core/log.c, compiled on its own: the log sink's escaping.
gw_unit_test(test_log
	SOURCES ${CMAKE_SOURCE_DIR}/server/core/log.c test_log.c
	LIBS gw_common)
target_include_directories(test_log PRIVATE ${CMAKE_SOURCE_DIR}/server/core)
