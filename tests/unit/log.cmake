# server/core/log.c, compiled on its own: the log sink's escaping.
gw_unit_test(test_log
	SOURCES ${CMAKE_SOURCE_DIR}/server/core/log.c
		${CMAKE_SOURCE_DIR}/server/core/log_json.c test_log.c
	LIBS gw_common)
target_include_directories(test_log PRIVATE ${CMAKE_SOURCE_DIR}/server/core)

# server/core/log_json.c with log.c: the JSON format of the log, each line
# parsed back with jansson.
gw_unit_test(test_log_json
	SOURCES ${CMAKE_SOURCE_DIR}/server/core/log.c
		${CMAKE_SOURCE_DIR}/server/core/log_json.c test_log_json.c
	LIBS gw_common PkgConfig::JANSSON)
target_include_directories(test_log_json PRIVATE
	${CMAKE_SOURCE_DIR}/server/core)
