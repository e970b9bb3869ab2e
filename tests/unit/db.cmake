# db/: one executable per topic, sharing the fixture of test_db_common.c:
# schema, challenges and db_txn_start() (test_db); state updates,
# certificates and renewals (test_db_txn); races and group commit
# (test_db_race); NDES users and admin listings (test_db_user);
# incarnations, leases, takeover and the order gate (test_db_lease);
# copying an instance into PostgreSQL (test_db_copy: its PostgreSQL
# cases skip on SQLite); Microsoft Intune's state of a transaction
# (test_db_intune); a transaction's history and the console's search
# (test_db_hist).
#
# Each runs twice: on SQLite (unit/test_db...) and on PostgreSQL
# (unit/test_db...-pg), against one throwaway cluster that the fixture
# unit/pg-start starts for all of them (tests/lib/pg.sh) and unit/pg-stop
# removes. Without PostgreSQL installed the -pg tests are skipped. Their
# label is unit-pg: `ctest -L unit` runs them, deploy/test.sh's memcheck
# pass (label exactly "unit", each command alone, without the fixture or
# its environment) leaves them out.
set(_pg_state ${CMAKE_BINARY_DIR}/pg-unit)
add_test(NAME unit/pg-start
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/lib/pg.sh fixture-start ${_pg_state})
add_test(NAME unit/pg-stop
	COMMAND bash ${CMAKE_SOURCE_DIR}/tests/lib/pg.sh fixture-stop ${_pg_state})
set_tests_properties(unit/pg-start PROPERTIES LABELS unit-pg TIMEOUT 120
	FIXTURES_SETUP pg-unit)
set_tests_properties(unit/pg-stop PROPERTIES LABELS unit-pg TIMEOUT 120
	FIXTURES_CLEANUP pg-unit)
foreach(_t db db_txn db_race db_user db_lease db_copy db_intune db_hist)
	gw_unit_test(test_${_t}
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${_t}.c
			${CMAKE_CURRENT_LIST_DIR}/test_db_common.c
		LIBS gw_db gw_common Threads::Threads PkgConfig::LIBPQ)
	add_test(NAME unit/test_${_t}-pg COMMAND test_${_t})
	set_tests_properties(unit/test_${_t}-pg PROPERTIES LABELS unit-pg
		TIMEOUT 120 SKIP_RETURN_CODE 77 FIXTURES_REQUIRED pg-unit
		ENVIRONMENT "GW_TEST_DB_URL_FILE=${_pg_state}/url")
endforeach()
# PostgreSQL only: idempotent write functions, reconnects, per-write
# retry of an aborted batch, the NDES cap across handles, one migration.
gw_unit_test(test_db_pg
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_db_pg.c
		${CMAKE_CURRENT_LIST_DIR}/test_db_common.c
	LIBS gw_db gw_common Threads::Threads PkgConfig::LIBPQ)
set_tests_properties(unit/test_db_pg PROPERTIES LABELS unit-pg
	SKIP_RETURN_CODE 77
	FIXTURES_REQUIRED pg-unit
	ENVIRONMENT "GW_TEST_DB_URL_FILE=${_pg_state}/url")
# SQLite only: scepgw backup / restore (db_backup_to(), db_restore_from()).
gw_unit_test(test_db_backup
	SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_db_backup.c
		${CMAKE_CURRENT_LIST_DIR}/test_db_common.c
	LIBS gw_db gw_common Threads::Threads PkgConfig::LIBPQ)
