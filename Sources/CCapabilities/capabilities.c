#include "CCapabilities.h"
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int errno_keep_capabilities(uint64_t keep)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	for (int capability = 0; capability < 64; capability++) {
		if (keep & (1ULL << capability))
			continue;
		if (prctl(PR_CAPBSET_READ, capability, 0, 0, 0) != 1)
			continue; /* not in the set, or beyond the kernel's last capability */
		if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno != EPERM)
			return -errno; /* EPERM: no CAP_SETPCAP; the bounding set was narrowed by whoever started us */
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -errno;
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &header, data) != 0)
		return -errno;
	return 0;
}
