/* pthread_setname_np() is a GNU extension. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#include "gw_thread.h"

/* Names the calling thread; name is cut to the kernel's 15 characters.
 * A failure only leaves the inherited name. */
void
gw_thread_name(const char *name)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%s", name);
	(void)pthread_setname_np(pthread_self(), buf);
}
