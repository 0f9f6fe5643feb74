/* deep — a test program with a known call chain: main → start_service → load_settings →
 * open_config → open(2). Built by the tests with frame pointers, with -O2 -fomit-frame-pointer,
 * and stripped, to check that captured stacks unwind completely and name every function.
 * Usage: deep PATH [COUNT [LINGER_MS]]: opens PATH COUNT times (default 1), then exits at once —
 * or, with LINGER_MS, says "opened" on stdout and lives that long (for kernels whose capture
 * records carry no mappings: the agent reads them from /proc while the process lives).
 * deep --hostile-stack PATH: opens PATH with the stack and frame pointers pointing at the top of
 * the address space, as a hostile user would to trip the agent's unwinder (x86_64). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef DEEP_INLINED
/* Built with -DDEEP_INLINED (deep_inlined), open_config opens through this function, which the
 * compiler inlines: a frame of its own only in the DWARF. */
static inline __attribute__((always_inline)) int open_read_only(const char *path)
{
	return open(path, O_RDONLY); /* marker: inlined open */
}
#define OPEN_CONFIG(path) open_read_only(path)
#else
#define OPEN_CONFIG(path) open(path, O_RDONLY)
#endif

/* noinline and work after each call: every function keeps its own frame (no inlining, no tail call). */
__attribute__((noinline)) int open_config(const char *path)
{
	int fd = OPEN_CONFIG(path); /* marker: open_config's open */

	__asm__ volatile("" ::: "memory");
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

__attribute__((noinline)) int load_settings(const char *path)
{
	int result = open_config(path); /* marker: load_settings' call */

	__asm__ volatile("" ::: "memory");
	return result + 1;
}

__attribute__((noinline)) int start_service(const char *path)
{
	int result = load_settings(path); /* marker: start_service's call */

	__asm__ volatile("" ::: "memory");
	return result * 2;
}

/* openat(AT_FDCWD, path, O_RDONLY) with rsp = 0xFFFFFFFFFFFFF000 and rbp = 0xFFFFFFFFFFFFFFF0. */
static void open_with_hostile_stack(const char *path)
{
#if defined(__x86_64__)
	register long number __asm__("rax") = 257;
	register long directory __asm__("rdi") = -100;
	register const char *name __asm__("rsi") = path;
	register long flags __asm__("rdx") = 0;

	__asm__ volatile("mov %%rsp, %%r12\n\t"
			 "mov %%rbp, %%r13\n\t"
			 "movabs $0xFFFFFFFFFFFFF000, %%rsp\n\t"
			 "movabs $0xFFFFFFFFFFFFFFF0, %%rbp\n\t"
			 "syscall\n\t"
			 "mov %%r13, %%rbp\n\t"
			 "mov %%r12, %%rsp"
			 : "+r"(number)
			 : "r"(directory), "r"(name), "r"(flags)
			 : "rcx", "r11", "r12", "r13", "memory");
#else
	(void)path;
#endif
}

int main(int argc, char **argv)
{
	int count = argc > 2 ? atoi(argv[2]) : 1, total = 0;

	if (argc < 2)
		return 2;
	if (argc > 2 && strcmp(argv[1], "--hostile-stack") == 0) {
		open_with_hostile_stack(argv[2]);
		return 0;
	}
	for (int i = 0; i < count; i++)
		total += start_service(argv[1]); /* marker: main's call */
	if (argc > 3) {
		puts("opened");
		fflush(stdout);
		usleep((useconds_t)atoi(argv[3]) * 1000);
	}
	return total == 12345;
}
