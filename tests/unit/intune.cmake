# server/intune/: the Intune client end to end against a real intune-sim
# on loopback (HTTPS with its test CA).
if(TARGET gw_intune AND TARGET intune-sim)
	foreach(_t test_intune test_intune_faults)
		gw_unit_test(${_t} SOURCES ${_t}.c test_intune_common.c test_spawn.c
			LIBS gw_intune gw_testkeys)
		target_compile_definitions(${_t} PRIVATE
			GW_TEST_VERSION="${GW_VERSION}")
		add_dependencies(${_t} intune-sim)
		set_tests_properties(unit/${_t} PROPERTIES SKIP_RETURN_CODE 77)
	endforeach()
endif()
