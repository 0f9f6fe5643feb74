/* deep — a test program with a known call chain: main → start_service → load_settings →
 * open_config → open(2). Built by the tests with frame pointers, with -O2 -fomit-frame-pointer,
 * and stripped, to check that captured stacks unwind completely and name every function.
 * Usage: deep PATH [COUNT [LINGER_MS]]: opens PATH COUNT times (default 1), then exits at once —
 * or, with LINGER_MS, says "opened" on stdout and lives that long (for kernels whose capture
 * records carry no mappings: the agent reads them from /proc while the process lives). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* noinline and work after each call: every function keeps its own frame (no inlining, no tail call). */
__attribute__((noinline)) int open_config(const char *path)
{
	int fd = open(path, O_RDONLY);

	__asm__ volatile("" ::: "memory");
	if (fd >= 0)
		close(fd);
	return fd < 0 ? -1 : 0;
}

__attribute__((noinline)) int load_settings(const char *path)
{
	int result = open_config(path);

	__asm__ volatile("" ::: "memory");
	return result + 1;
}

__attribute__((noinline)) int start_service(const char *path)
{
	int result = load_settings(path);

	__asm__ volatile("" ::: "memory");
	return result * 2;
}

int main(int argc, char **argv)
{
	int count = argc > 2 ? atoi(argv[2]) : 1, total = 0;

	if (argc < 2)
		return 2;
	for (int i = 0; i < count; i++)
		total += start_service(argv[1]);
	if (argc > 3) {
		puts("opened");
		fflush(stdout);
		usleep((useconds_t)atoi(argv[3]) * 1000);
	}
	return total == 12345;
}
