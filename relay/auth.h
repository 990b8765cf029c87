/* auth.h -- HTTP Basic credentials checked against a file of "user:HASH"
 * lines, HASH as `openssl passwd -6` or mkpasswd writes it (crypt(3)). */
#ifndef VIDPIPE_RELAY_AUTH_H
#define VIDPIPE_RELAY_AUTH_H

#include <stdbool.h>

struct auth;

/* Reads path: one "user:HASH" a line, '#' comments and blank lines
 * skipped.  NULL (errno set) after logging why. */
struct auth *auth_load(const char *path);
void auth_free(struct auth *a);

/* True if header (an Authorization header's value, or NULL) names a
 * user of the file with the right password.  Headers that passed are
 * remembered, so a page's requests do not cost a crypt() each. */
bool auth_check(struct auth *a, const char *header);

#endif
