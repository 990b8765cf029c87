/* auth.c -- HTTP Basic auth against crypt(3) hashes. */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "util/log.h"

#define AUTH_MAX_USERS 64
#define AUTH_LINE_MAX 512
#define AUTH_CACHE 8 /* headers that passed, remembered */

struct auth {
    unsigned nusers;
    struct {
        char *name, *hash;
    } users[AUTH_MAX_USERS];
    char *cache[AUTH_CACHE];
    unsigned next_cache;
    struct crypt_data *cd; /* large: one, on the heap */
};

void auth_free(struct auth *a)
{
    if (!a)
        return;
    for (unsigned i = 0; i < a->nusers; i++) {
        free(a->users[i].name);
        free(a->users[i].hash);
    }
    for (unsigned i = 0; i < AUTH_CACHE; i++)
        free(a->cache[i]);
    free(a->cd);
    free(a);
}

struct auth *auth_load(const char *path)
{
    char line[AUTH_LINE_MAX];
    unsigned n = 0;
    struct auth *a = calloc(1, sizeof *a);
    FILE *f = fopen(path, "r");

    if (!a || !f || !(a->cd = calloc(1, sizeof *a->cd))) {
        log_err("--http-auth %s: %s", path, strerror(errno));
        goto fail;
    }
    while (fgets(line, sizeof line, f)) {
        n++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *colon = strchr(line, ':');
        /* A crypt(3) hash starts with '$' (or is DES: 13 characters). */
        if (!colon || colon == line ||
            (colon[1] != '$' && strlen(colon) != 14)) {
            log_err("--http-auth %s:%u: expected user:HASH "
                    "(openssl passwd -6)",
                    path, n);
            goto fail;
        }
        if (a->nusers == AUTH_MAX_USERS) {
            log_err("--http-auth %s: more than %d users", path, AUTH_MAX_USERS);
            goto fail;
        }
        *colon = 0;
        a->users[a->nusers].name = strdup(line);
        a->users[a->nusers].hash = strdup(colon + 1);
        a->nusers++;
    }
    if (a->nusers == 0) {
        log_err("--http-auth %s: no user:HASH line", path);
        goto fail;
    }
    fclose(f);
    return a;
fail:
    if (f)
        fclose(f);
    auth_free(a);
    errno = EINVAL;
    return NULL;
}

static bool password_ok(struct auth *a, const char *user, const char *pw)
{
    for (unsigned i = 0; i < a->nusers; i++) {
        if (strcmp(a->users[i].name, user) != 0)
            continue;
        const char *h = crypt_r(pw, a->users[i].hash, a->cd);
        size_t hl = strlen(a->users[i].hash);
        return h && h[0] != '*' && strlen(h) == hl &&
               CRYPTO_memcmp(h, a->users[i].hash, hl) == 0;
    }
    return false;
}

bool auth_check(struct auth *a, const char *header)
{
    unsigned char plain[AUTH_LINE_MAX];

    if (!header || strncasecmp(header, "Basic ", 6) != 0)
        return false;
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    size_t len = strlen(b64);
    if (len == 0 || len % 4 || len / 4 * 3 >= sizeof plain)
        return false;
    for (unsigned i = 0; i < AUTH_CACHE; i++)
        if (a->cache[i] && strcmp(a->cache[i], b64) == 0)
            return true;
    int n = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len);
    if (n < 0)
        return false;
    /* EVP_DecodeBlock counts the padding's bytes as zeros. */
    while (len > 0 && b64[--len] == '=' && n > 0)
        n--;
    plain[n] = 0;
    char *colon = memchr(plain, ':', (size_t)n);
    if (!colon || memchr(plain, 0, (size_t)n))
        return false;
    *colon = 0;
    if (!password_ok(a, (char *)plain, colon + 1))
        return false;
    free(a->cache[a->next_cache]);
    a->cache[a->next_cache] = strdup(header + (b64 - header));
    a->next_cache = (a->next_cache + 1) % AUTH_CACHE;
    return true;
}
