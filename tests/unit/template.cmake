# server/config/template.c, compiled on its own: the identity template engine.
gw_unit_test(test_template
	SOURCES ${CMAKE_SOURCE_DIR}/server/config/template.c test_template.c
	LIBS)
target_include_directories(test_template PRIVATE ${CMAKE_SOURCE_DIR}/server/config)
