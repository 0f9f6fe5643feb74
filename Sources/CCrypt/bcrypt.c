#include "CCrypt.h"
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

int errno_bcrypt_matches(const char *password, const char *hash)
{
	struct crypt_data *data = calloc(1, sizeof(*data)); /* ~32 KiB: not on the stack */
	const char *computed;
	size_t length = strlen(hash);
	unsigned char difference = 0;

	if (!data)
		return 0;
	computed = crypt_rn(password, hash, data, sizeof(*data));
	if (!computed || strlen(computed) != length) {
		free(data);
		return 0;
	}
	for (size_t i = 0; i < length; i++) /* constant time in the hash length */
		difference |= (unsigned char)(computed[i] ^ hash[i]);
	free(data);
	return difference == 0;
}
