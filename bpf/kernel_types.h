/* kernel_types.h — the few kernel types errno.bpf.c touches, instead of a 3 MB vmlinux.h.
 *
 * preserve_access_index makes every field access a CO-RE relocation: libbpf rewrites the offsets
 * against the running kernel's BTF at load time, so field order and omitted fields do not matter.
 */
#ifndef ERRNO_KERNEL_TYPES_H
#define ERRNO_KERNEL_TYPES_H

#if defined(__TARGET_ARCH_x86)
struct pt_regs {
	unsigned long di, si, dx, r10, r8, r9; /* syscall arguments 1..6 */
	unsigned long orig_ax;                  /* syscall number */
} __attribute__((preserve_access_index));
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#define SYSCALL_ARG1(regs) ((regs)->di)
#define SYSCALL_ARG2(regs) ((regs)->si)
#define SYSCALL_ARG3(regs) ((regs)->dx)
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	unsigned long regs[31];
	unsigned long orig_x0; /* argument 1: x0 holds the return value at exit */
	int syscallno;         /* syscall number */
} __attribute__((preserve_access_index));
#define SYSCALL_NR(regs) ((regs)->syscallno)
#define SYSCALL_ARG1(regs) ((regs)->orig_x0)
#define SYSCALL_ARG2(regs) ((regs)->regs[1])
#define SYSCALL_ARG3(regs) ((regs)->regs[2])
#else
#error "errno_exporter supports x86_64 (__TARGET_ARCH_x86) and arm64 (__TARGET_ARCH_arm64)"
#endif

struct task_struct {
	char comm[16];
} __attribute__((preserve_access_index));

#endif
