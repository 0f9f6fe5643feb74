/* Loads and attaches bench/floor.bpf.o, prints "ready", and keeps it attached until stdin closes.
 * bpftool 7.1 can load but not attach tp_btf programs, hence this loader. */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct bpf_object *object;
	struct bpf_program *program;
	struct bpf_link *link;
	char byte;

	if (argc != 2) {
		fprintf(stderr, "usage: %s floor.bpf.o\n", argv[0]);
		return 2;
	}
	object = bpf_object__open_file(argv[1], NULL);
	if (!object || bpf_object__load(object)) {
		perror("load");
		return 1;
	}
	program = bpf_object__find_program_by_name(object, "empty_sys_exit");
	link = program ? bpf_program__attach(program) : NULL;
	if (!link) {
		perror("attach");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, &byte, 1) > 0)
		;
	bpf_link__destroy(link);
	bpf_object__close(object);
	return 0;
}
