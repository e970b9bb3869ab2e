# The strict warning set, applied to every target
# of ours through gw_target_flags().
set(GW_WARNINGS
	-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
	-Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations
	-Wold-style-definition -Wredundant-decls -Wcast-qual -Wwrite-strings
	-Wpointer-arith -Wundef -Wvla -Wformat=2 -Wnull-dereference
	-Wimplicit-fallthrough -Wdouble-promotion)
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
	list(APPEND GW_WARNINGS -Wcomma -Wmissing-variable-declarations)
endif()
if(GW_WERROR)
	list(APPEND GW_WARNINGS -Werror)
endif()

add_compile_definitions(_POSIX_C_SOURCE=200809L)
add_compile_options(-fstack-protector-strong)
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
	add_compile_definitions(_FORTIFY_SOURCE=2)
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
add_link_options(-Wl,-z,relro,-z,now,-z,noexecstack)

if(GW_SANITIZE)
	# ThreadSanitizer has its own runtime: it cannot share a process
	# with ASan or LSan (the compilers refuse the combination).
	if("thread" IN_LIST GW_SANITIZE AND
	    ("address" IN_LIST GW_SANITIZE OR "leak" IN_LIST GW_SANITIZE))
		message(FATAL_ERROR "GW_SANITIZE: 'thread' does not combine "
			"with 'address' or 'leak'; use a build folder for each")
	endif()
	string(REPLACE ";" "," _san "${GW_SANITIZE}")
	add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer
		-fno-sanitize-recover=all)
	add_link_options(-fsanitize=${_san})
endif()

# Our own targets get the warnings; third-party code we compile would not.
function(gw_target_flags target)
	target_compile_options(${target} PRIVATE ${GW_WARNINGS})
endfunction()
