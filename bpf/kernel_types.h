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
	unsigned long ax, cx, bx, bp, r11, r12, r13, r14, r15, ip, sp; /* for stack captures */
} __attribute__((preserve_access_index));
#define SYSCALL_NR(regs) ((regs)->orig_ax)
/* Function call arguments at a uprobe (System V AMD64 ABI, integer registers), read with
 * BPF_CORE_READ: a uprobe's context may not be dereferenced at a relocated offset. */
#define FUNCTION_ARG1(regs) BPF_CORE_READ(regs, di)
#define FUNCTION_ARG2(regs) BPF_CORE_READ(regs, si)
#define FUNCTION_ARG3(regs) BPF_CORE_READ(regs, dx)
#define FUNCTION_ARG4(regs) BPF_CORE_READ(regs, cx)
#define FUNCTION_ARG5(regs) BPF_CORE_READ(regs, r8)
#define FUNCTION_ARG6(regs) BPF_CORE_READ(regs, r9)
#define SYSCALL_ARG1(regs) ((regs)->di)
#define SYSCALL_ARG2(regs) ((regs)->si)
#define SYSCALL_ARG3(regs) ((regs)->dx)
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	unsigned long regs[31];
	unsigned long sp, pc;  /* for stack captures */
	unsigned long orig_x0; /* argument 1: x0 holds the return value at exit */
	int syscallno;         /* syscall number */
} __attribute__((preserve_access_index));
#define SYSCALL_NR(regs) ((regs)->syscallno)
/* Function call arguments at a uprobe (AAPCS64, x0-x5), read with BPF_CORE_READ. */
#define FUNCTION_ARG1(regs) BPF_CORE_READ(regs, regs[0])
#define FUNCTION_ARG2(regs) BPF_CORE_READ(regs, regs[1])
#define FUNCTION_ARG3(regs) BPF_CORE_READ(regs, regs[2])
#define FUNCTION_ARG4(regs) BPF_CORE_READ(regs, regs[3])
#define FUNCTION_ARG5(regs) BPF_CORE_READ(regs, regs[4])
#define FUNCTION_ARG6(regs) BPF_CORE_READ(regs, regs[5])
#define SYSCALL_ARG1(regs) ((regs)->orig_x0)
#define SYSCALL_ARG2(regs) ((regs)->regs[1])
#define SYSCALL_ARG3(regs) ((regs)->regs[2])
#else
#error "errno_exporter supports x86_64 (__TARGET_ARCH_x86) and arm64 (__TARGET_ARCH_arm64)"
#endif

struct task_struct {
	char comm[16];
} __attribute__((preserve_access_index));

/* For a capture's memory map: executable file mappings, their files' inode and path. */
struct qstr {
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} __attribute__((preserve_access_index));

struct vfsmount {
	struct dentry *mnt_root;
} __attribute__((preserve_access_index));

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} __attribute__((preserve_access_index));

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct super_block {
	unsigned int s_dev;
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct vm_area_struct {
	unsigned long vm_start, vm_end, vm_pgoff, vm_flags;
	struct file *vm_file;
} __attribute__((preserve_access_index));
#define VM_EXEC 0x4

/* The open-coded VMA iterator (kernel 6.7+). */
struct bpf_iter_task_vma {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

#endif
