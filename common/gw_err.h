/*
 * The error report every library module fills in instead of logging (only
 * server/ logs): a code the caller may branch on, and one line of text that
 * carries the detail of OpenSSL, curl, SQLite or libxml2.
 */
#ifndef GW_ERR_H
#define GW_ERR_H

#define GW_ERR_MSG 256

struct gw_err {
	int code;	      /* module-defined; 0 when unset */
	char msg[GW_ERR_MSG]; /* one line, no secrets */
};

void gw_err_clear(struct gw_err *err);
void gw_err_set(struct gw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_err_set_ossl(struct gw_err *err, int code, const char *what);

#endif
