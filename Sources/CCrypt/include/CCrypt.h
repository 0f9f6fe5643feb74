/* CCrypt — bcrypt verification through libxcrypt's crypt_rn(3) ($2a$, $2b$ and $2y$ hashes). */
#ifndef CCRYPT_H
#define CCRYPT_H

/* 1 when `password` hashes to `hash`, 0 when not (or the hash is unusable). Thread-safe. */
int errno_bcrypt_matches(const char *password, const char *hash);

#endif
