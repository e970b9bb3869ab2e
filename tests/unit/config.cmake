# server/config/: the key table, loading and writing a config.
if(TARGET gw_config)
	gw_unit_test(test_config
		SOURCES test_config.c
		LIBS gw_config)
endif()
