# mkfixtures writes the SCEP request corpus of tests/fixtures/scep (run by
# hand, see its README.md); checkrep checks the replies to it in
# tests/integration/cases/fixtures-replay.sh.
if(TARGET gw_scepclient)
	foreach(_tool mkfixtures checkrep)
		add_executable(${_tool} ${CMAKE_CURRENT_LIST_DIR}/${_tool}.c)
		target_link_libraries(${_tool} PRIVATE gw_scepclient)
		set_target_properties(${_tool} PROPERTIES
			RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
		gw_target_flags(${_tool})
	endforeach()
endif()
