/*
 * Names the calling thread, as `top -H`, `ps -L` and gdb show it:
 * "scepgw-db" and the like instead of the name of whichever thread
 * happened to start it.
 */
#ifndef GW_THREAD_H
#define GW_THREAD_H

void gw_thread_name(const char *name);

#endif
