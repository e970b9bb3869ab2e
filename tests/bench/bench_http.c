/*
 * The HTTP side of scepgw-bench: one libcurl multi handle on one thread
 * keeps a fixed number of requests in flight (up to every request at
 * once) and times each of them. Replies are only stored here; checking
 * them is left for after the clock has stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "gw_err.h"
#include "bench.h"

#define BENCH_REPLY_MAX (1024 * 1024)

/* Seconds on the monotonic clock. */
double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds of CPU this process has used (user + system). */
static double
self_cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/*
 * The machine's CPU time so far from /proc/stat, in clock ticks: busy
 * (everything but idle and iowait) and all. 0 for both when unreadable.
 */
static void
machine_ticks(unsigned long long *busy, unsigned long long *all)
{
	unsigned long long v[8] = { 0 };
	FILE *f;
	int i;

	*busy = *all = 0;
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		&v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (i = 0; i < 8; i++)
			*all += v[i];
		*busy = *all - v[3] - v[4];
	}
	fclose(f);
}

/*
 * CPU time of process pid so far (user + system, all its threads) from
 * /proc/PID/stat, in clock ticks; -1 when unreadable.
 */
static long long
pid_ticks(long pid)
{
	unsigned long long ut, st;
	char path[64], line[1024], *p;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/*
	 * The command name (field 2) may hold spaces: count from its ')'
	 * to the space before field 14, utime; field 15 is stime.
	 */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	for (field = 3; field <= 14 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* curl write callback: appends to the transfer's bounded buffer. */
static size_t
reply_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, p, size * n) == -1)
		return 0;
	return size * n;
}

/* A configured easy handle for x; NULL when curl is out of memory. */
static CURL *
xfer_easy_new(const char *url, struct bench_xfer *x, struct curl_slist *hdrs,
    long timeout_s)
{
	CURL *c;

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	buf_init(&x->reply, BENCH_REPLY_MAX);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x->reply);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (x->body != NULL) {
		/* No "Expect: 100-continue" round trip: time the gateway. */
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)x->len);
	}
	return c;
}

/* Collects finished transfers; returns how many finished. */
static size_t
multi_reap(CURLM *m, const double *start, const struct bench_xfer *base)
{
	struct bench_xfer *x;
	CURLMsg *msg;
	char *priv;
	size_t done = 0;
	int left;

	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct bench_xfer *)(void *)priv;
		x->ms = (bench_now() - start[x - base]) * 1000.0;
		x->curl_rc = (int)msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &x->status);
		curl_multi_remove_handle(m, msg->easy_handle);
		curl_easy_cleanup(msg->easy_handle);
		done++;
	}
	return done;
}

/*
 * Performs the n transfers x against url, conc at a time, on a single
 * multi handle. Each transfer's latency runs from the moment it joins
 * the multi handle to its completion; cost gets the whole run's wall
 * time and the CPU it took, this process's and the machine's. Returns
 * 0 (however many transfers failed), or -1 with err when curl itself
 * fails. Reply buffers belong to x; free them with buf_cleanup().
 */
int
bench_http_run(const char *url, struct bench_xfer *x, size_t n, size_t conc,
    long timeout_s, struct bench_cost *cost, struct gw_err *err)
{
	struct curl_slist *hdrs = NULL, *h;
	unsigned long long busy0, all0, busy1, all1;
	long long watch0[BENCH_WATCH_MAX], t;
	double *start = NULL, t0, cpu0;
	size_t next = 0, active = 0, done = 0, i;
	CURLM *m = NULL;
	CURL *c;
	int running, rc = -1;

	h = curl_slist_append(NULL, "Content-Type: application/x-pki-message");
	if (h == NULL || (hdrs = curl_slist_append(h, "Expect:")) == NULL ||
	    (start = calloc(n, sizeof(*start))) == NULL ||
	    (m = curl_multi_init()) == NULL) {
		if (hdrs == NULL)
			curl_slist_free_all(h);
		gw_err_set(err, 0, "out of memory");
		goto out;
	}
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
	for (i = 0; i < cost->nwatch; i++)
		watch0[i] = pid_ticks(cost->watch[i].pid);
	machine_ticks(&busy0, &all0);
	cpu0 = self_cpu_ms();
	t0 = bench_now();
	while (done < n) {
		while (active < conc && next < n) {
			if ((c = xfer_easy_new(x[next].url != NULL ?
				     x[next].url :
				     url,
				 &x[next], hdrs, timeout_s)) == NULL ||
			    curl_multi_add_handle(m, c) != CURLM_OK) {
				curl_easy_cleanup(c);
				gw_err_set(err, 0, "cannot add transfer %zu",
				    next);
				goto out;
			}
			start[next++] = bench_now();
			active++;
		}
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			gw_err_set(err, 0, "curl_multi_perform failed");
			goto out;
		}
		done += multi_reap(m, start, x);
		active = next - done;
		if (active > 0 && done < n &&
		    curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) {
			gw_err_set(err, 0, "curl_multi_poll failed");
			goto out;
		}
	}
	cost->wall_s = bench_now() - t0;
	cost->self_cpu_ms = self_cpu_ms() - cpu0;
	machine_ticks(&busy1, &all1);
	cost->machine_busy =
	    all1 > all0 ? (double)(busy1 - busy0) / (double)(all1 - all0) : 0;
	cost->machine_cpu_ms =
	    (double)(busy1 - busy0) * 1e3 / (double)sysconf(_SC_CLK_TCK);
	for (i = 0; i < cost->nwatch; i++) {
		t = pid_ticks(cost->watch[i].pid);
		cost->watch[i].cpu_ms = watch0[i] < 0 || t < watch0[i] ?
		    -1 :
		    (double)(t - watch0[i]) * 1e3 /
			(double)sysconf(_SC_CLK_TCK);
	}
	rc = 0;
out:
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	free(start);
	return rc;
}

/*
 * One blocking GET of url (GetCACert before the run). Returns 0 with
 * the body in out (the caller cleans it up), or -1 with err.
 */
int
bench_http_get(const char *url, struct buf *out, struct gw_err *err)
{
	struct bench_xfer x;
	CURLcode cc;
	CURL *c;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	if ((c = xfer_easy_new(url, &x, NULL, 60L)) == NULL) {
		gw_err_set(err, 0, "out of memory");
		return -1;
	}
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		gw_err_set(err, 0, "%s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x.status);
	if (x.status != 200) {
		gw_err_set(err, 0, "%s: HTTP %ld", url, x.status);
		goto out;
	}
	*out = x.reply;
	memset(&x.reply, 0, sizeof(x.reply));
	rc = 0;
out:
	buf_cleanup(&x.reply);
	curl_easy_cleanup(c);
	return rc;
}
