/*
 * Small stand-alone helpers: strings allocated with malloc (so cmocka's
 * allocator wrapping sees them), secrets wiped before they are freed,
 * bounded file reads, files written with a given mode, permission checks on
 * key and credential files, and hex encoding.
 */
#ifndef GW_SECURE_H
#define GW_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct gw_err;

char *gw_strdup(const char *s);
char *gw_strndup(const char *s, size_t n);
void gw_secret_free(char *s);
void gw_cleanse(void *p, size_t n);

int gw_file_read(const char *path, size_t max, struct buf *out,
    struct gw_err *err);
int gw_file_write(const char *path, const void *p, size_t n, mode_t mode,
    struct gw_err *err);
int gw_file_write_owned(const char *path, const void *p, size_t n, mode_t mode,
    uid_t uid, gid_t gid, struct gw_err *err);
int gw_file_open_private(const char *path, struct gw_err *err);
int gw_file_check_private(const char *path, struct gw_err *err);
int gw_file_check_private_preroot(const char *path, struct gw_err *err);
int gw_private_read(const char *path, size_t max, struct buf *out,
    struct gw_err *err);
int gw_private_read_preroot(const char *path, size_t max, struct buf *out,
    struct gw_err *err);
int gw_secret_read(const char *path, char **out, struct gw_err *err);
int gw_secret_read_preroot(const char *path, char **out, struct gw_err *err);

void gw_hex(const uint8_t *p, size_t n, char *out);
int gw_random_bytes(uint8_t *p, size_t n);

#endif
