// SPDX-License-Identifier: GPL-2.0
/* The benchmark's floor: an empty program on the agent's hook, so the cost of merely attaching to
 * sys_exit can be told apart from the cost of what the agent's program does. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int empty_sys_exit(void *ctx)
{
	return 0;
}
