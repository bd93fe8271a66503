/* Long double arithmetic for INCRBYFLOAT (and later HINCRBYFLOAT), done in C so that it
 * matches Redis 7.0 bit for bit: Redis parses both operands with strtold (string2ld), adds
 * them in `long double` (80-bit extended on x86-64) and prints the sum with "%.17Lf",
 * trimming trailing zeros (ld2string with LD_STR_HUMAN). Rust has no `long double`, so the
 * whole computation lives here. */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's MAX_LONG_DOUBLE_CHARS: the longest text string2ld accepts (exclusive) and the
 * buffer ld2string formats into. */
#define BRIM_MAX_LONG_DOUBLE_CHARS (5 * 1024)

/* Redis's string2ld: the whole text must be parsed by strtold (so a NUL byte inside is
 * refused); leading spaces, trailing garbage, NaN and out-of-range values are refused.
 * Returns 1 on success. */
static int brim_string2ld(const char *s, size_t slen, long double *dp) {
    char buf[BRIM_MAX_LONG_DOUBLE_CHARS];
    long double value;
    char *eptr;

    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';

    errno = 0;
    value = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' || (size_t)(eptr - buf) != slen ||
        ((errno == ERANGE || errno == EINVAL) &&
         (value == HUGE_VAL || value == -HUGE_VAL || value == 0)) ||
        errno == EINVAL || isnan(value))
        return 0;

    if (dp) *dp = value;
    return 1;
}

/* Redis's ld2string in LD_STR_HUMAN mode into `buf` of `len` bytes. Returns the length,
 * or 0 when it does not fit (Redis then stores an empty string). */
static size_t brim_ld2string_human(char *buf, size_t len, long double value) {
    size_t l = 0;

    if (isinf(value)) {
        if (len < 5) goto err;
        if (value > 0) {
            memcpy(buf, "inf", 3);
            l = 3;
        } else {
            memcpy(buf, "-inf", 4);
            l = 4;
        }
    } else {
        int n = snprintf(buf, len, "%.17Lf", value);
        if (n < 0) goto err;
        l = (size_t)n;
        if (l + 1 > len) goto err;
        /* Remove trailing zeroes after the '.'. */
        if (strchr(buf, '.') != NULL) {
            char *p = buf + l - 1;
            while (*p == '0') {
                p--;
                l--;
            }
            if (*p == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') {
            buf[0] = '0';
            l = 1;
        }
    }
    buf[l] = '\0';
    return l;
err:
    if (len) buf[0] = '\0';
    return 0;
}

/* Whether `s` (of `len` bytes) is a float as Redis's string2ld accepts it. */
int brim_ld_valid(const char *s, size_t len) {
    return brim_string2ld(s, len, NULL);
}

/* Add the float `incr` to the float `cur` (absent when `has_cur` is 0: counts as 0), as
 * INCRBYFLOAT does. On success writes the text of the sum into `out` (which must hold at
 * least BRIM_MAX_LONG_DOUBLE_CHARS bytes) and returns its length (0 means the empty string).
 * Returns -1 if `cur` is not a valid float, -2 if `incr` is not, -3 if the sum is NaN or
 * infinite, -4 if `out` is too small. */
long brim_ld_incr(const char *cur, size_t cur_len, int has_cur, const char *incr,
                  size_t incr_len, char *out, size_t out_cap) {
    long double value = 0, by;
    char buf[BRIM_MAX_LONG_DOUBLE_CHARS];
    size_t l;

    if (out_cap < sizeof(buf)) return -4;
    if (has_cur && !brim_string2ld(cur, cur_len, &value)) return -1;
    if (!brim_string2ld(incr, incr_len, &by)) return -2;
    value += by;
    if (isnan(value) || isinf(value)) return -3;
    l = brim_ld2string_human(buf, sizeof(buf), value);
    memcpy(out, buf, l);
    return (long)l;
}
