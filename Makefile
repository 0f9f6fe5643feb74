# errno_exporter — build, run, test, benchmark.
#   make run    install missing Debian packages, build (release), run with config/errno_exporter.yml
#   make test   install missing Debian packages, build, run every test (needs root: real BPF)
#   make bench  added cost per syscall vs no tracing, the empty-program floor, bpftrace, BCC syscount
#   make bench-node  what node's profiling flags (perf map, V8 code log) cost the lab app, in requests/s
#   make text-order  measure which functions the release agent runs to start and serve scrapes (valgrind)

SHELL := /bin/bash
CONFIG_FILE ?= config/errno_exporter.yml
SWIFT_CONFIGURATION ?= release
# The agent's binaries carry the Swift runtime and Foundation, linked in and dead-stripped: they run
# on a host without a Swift toolchain (`make install`), and map 5 MiB less than with the shared
# libraries. The tests' debug build links them dynamically (faster to link).
SWIFT_STATIC := --static-swift-stdlib
# The agent's text is 28 MiB, and the code it runs to start and to serve scrapes (about 2 MiB) was
# scattered over it: every page it touched mapped its neighbours too. Release builds put each function
# in a section of its own, and gold places the sections in scripts/text-order.txt (`make text-order`
# measures them) first, together. The tests' debug build keeps the default layout. (Swift keeps an
# object whose IR is unchanged even when code generation options changed, hence the last flag.)
TEXT_ORDER := scripts/text-order.txt
RELEASE_LAYOUT := -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xswiftc -use-ld=gold \
	-Xlinker '--section-ordering-file=$(CURDIR)/$(TEXT_ORDER)' -Xswiftc -Xfrontend -Xswiftc -disable-incremental-llvm-codegen
LAYOUT := $(if $(filter release,$(SWIFT_CONFIGURATION)),$(RELEASE_LAYOUT))
# SwiftPM does not know the order file is an input of the link: a newer one removes the binary.
define relink_if_order_changed
	@if [ -e '.build/release/$(1)' ] && [ '$(TEXT_ORDER)' -nt '.build/release/$(1)' ]; then rm -f '.build/release/$(1)'; fi
endef
# The release build with the layout, as `make bench` and `make text-order` measure it.
RELEASE_BUILD := swift build -c release $(SWIFT_STATIC) $(RELEASE_LAYOUT)
ARGS ?=

# Debian packages: to build, to test, to benchmark.
BUILD_PACKAGES := binutils libbpf-dev bpftool clang-14 llvm-14 libelf-dev libdw-dev libdebuginfod-dev libiberty-dev zlib1g-dev linux-libc-dev \
	protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev golang-github-prometheus-client-model-dev golang-github-google-pprof-dev
TEST_PACKAGES := golang-go prometheus prometheus-alertmanager util-linux curl protobuf-compiler apache2-utils openssl systemd nodejs gcc binutils dwz chromium debuginfod \
	qemu-system-x86 busybox-static kmod iproute2
# virtme-ng boots Debian 12's own kernel (6.1) with this machine's root file system for the guest tests.
VIRTME_NG := virtme-ng==1.42
# A strict OpenMetrics parser for the exposition tests.
PROMETHEUS_CLIENT := prometheus-client==0.26.0
BENCH_PACKAGES := bpftrace bpfcc-tools linux-headers-amd64 python3 prometheus-node-exporter

BPF_CLANG ?= clang-14
LLVM_STRIP ?= llvm-strip-14
MACHINE := $(shell uname -m)
ifeq ($(MACHINE),x86_64)
  BPF_ARCH := x86
else ifeq ($(MACHINE),aarch64)
  BPF_ARCH := arm64
else
  $(error unsupported architecture $(MACHINE): errno_exporter supports x86_64 and aarch64)
endif
MULTIARCH_INCLUDE := /usr/include/$(MACHINE)-linux-gnu

GENERATED := Sources/CErrnoBPF/generated
PROTO_GENERATED := Sources/CMetricsProto/generated
PPROF_GENERATED := Sources/CPprof/generated
PPROF_PROTO := /usr/share/gocode/src/github.com/google/pprof/proto/profile.proto
METRICS_PROTO_ROOT := /usr/share/gocode/src/github.com/prometheus/client_model
METRICS_PROTO := io/prometheus/client/metrics.proto
BPF_OBJECT := .build/bpf/errno.bpf.o
# The same program without the VMA iterator kfuncs (Linux 6.7+), for older kernels.
BPF_OBJECT_NO_VMA := .build/bpf/errno-novma.bpf.o
REVISION := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

.PHONY: all deps test-deps bench-deps generate build fuzz run test test-kernels bench bench-node text-order tables dashboard check-generated install install-files clean

all: build

# Installs only what is missing, so a second run costs nothing.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PACKAGES))

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))
	@command -v vng >/dev/null || { python3 -m pip install -q $(VIRTME_NG) && { pyenv rehash 2>/dev/null || true; }; }
	@python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install -q $(PROMETHEUS_CLIENT)

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

define compile_bpf
	@mkdir -p $(dir $@)
	$(BPF_CLANG) -target bpf -mcpu=v3 -g -O2 -Wall -Werror -D__TARGET_ARCH_$(BPF_ARCH) -DERRNO_VMA_ITERATOR=$(1) \
		-I$(MULTIARCH_INCLUDE) -Ibpf -c $< -o $@.tmp
	$(LLVM_STRIP) -g $@.tmp -o $@
	@rm -f $@.tmp
endef

$(BPF_OBJECT): bpf/errno.bpf.c bpf/errno_exporter.h bpf/kernel_types.h
	$(call compile_bpf,1)

$(BPF_OBJECT_NO_VMA): bpf/errno.bpf.c bpf/errno_exporter.h bpf/kernel_types.h
	$(call compile_bpf,0)

$(GENERATED)/errno.skel.h: $(BPF_OBJECT)
	@mkdir -p $(GENERATED)
	bpftool gen skeleton $< name errno_bpf > $@.tmp && mv $@.tmp $@

# Both skeletons must declare the same maps, programs and globals in the same order: user space
# uses one layout for both (CErrnoBPF/embedded.c opens either).
$(GENERATED)/errno_novma.skel.h: $(BPF_OBJECT_NO_VMA) $(GENERATED)/errno.skel.h
	bpftool gen skeleton $< name errno_novma_bpf > $@.tmp
	@diff <(sed -n '/^struct errno_bpf {/,/^};/p' $(GENERATED)/errno.skel.h | sed 's/errno_bpf/SKELETON/g') \
		<(sed -n '/^struct errno_novma_bpf {/,/^};/p' $@.tmp | sed 's/errno_novma_bpf/SKELETON/g') \
		|| { echo "the two BPF objects' skeletons differ in layout"; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# Rewritten only when the revision changes, so it does not force rebuilds.
$(GENERATED)/build_info.h: FORCE
	@mkdir -p $(GENERATED)
	@printf '#define ERRNO_BUILD_REVISION "%s"\n' "$(REVISION)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

# protobuf-c code for io.prometheus.client.MetricFamily, from the upstream metrics.proto.
$(PROTO_GENERATED)/io/prometheus/client/metrics.pb-c.c: $(METRICS_PROTO_ROOT)/$(METRICS_PROTO)
	@mkdir -p $(PROTO_GENERATED)
	protoc-c --c_out=$(PROTO_GENERATED) -I$(METRICS_PROTO_ROOT) -I/usr/include $(METRICS_PROTO) google/protobuf/timestamp.proto

# Everything generated before `swift build`: the BPF object and skeleton, build info, protobuf-c code.
# protobuf-c code for pprof's perftools.profiles.Profile, from Debian's golang-github-google-pprof-dev.
$(PPROF_GENERATED)/profile.pb-c.c: $(PPROF_PROTO)
	@mkdir -p $(PPROF_GENERATED)
	protoc-c --c_out=$(PPROF_GENERATED) -I$(dir $(PPROF_PROTO)) profile.proto

generate: deps $(GENERATED)/errno.skel.h $(GENERATED)/errno_novma.skel.h $(GENERATED)/build_info.h $(PROTO_GENERATED)/io/prometheus/client/metrics.pb-c.c $(PPROF_GENERATED)/profile.pb-c.c

build: generate
	$(call relink_if_order_changed,errno_exporter)
	swift build -c $(SWIFT_CONFIGURATION) $(SWIFT_STATIC) $(LAYOUT) --product errno_exporter

run: build
	.build/$(SWIFT_CONFIGURATION)/errno_exporter --config.file=$(CONFIG_FILE) $(ARGS)

# Every test on this machine's kernel, then the kernel-dependent ones in Debian 12's 6.1 kernel.
test: test-deps generate check-generated
	swift build --build-tests
	swift test 2>&1 | tee .build/test.log; exit $${PIPESTATUS[0]}
	scripts/kernel-guest-tests.sh 2>&1 | tee .build/test-kernels.log; exit $${PIPESTATUS[0]}

# Only the kernel-dependent integration tests, inside Debian 12's 6.1 kernel under QEMU.
test-kernels: test-deps generate
	swift build --build-tests
	scripts/kernel-guest-tests.sh 2>&1 | tee .build/test-kernels.log; exit $${PIPESTATUS[0]}

# The fuzz targets for longer than the test run gives them (FUZZ_SECONDS per target).
FUZZ_SECONDS ?= 120
fuzz: generate
	FUZZ_SECONDS=$(FUZZ_SECONDS) swift test --filter FuzzTests

bench: bench-deps generate
	$(call relink_if_order_changed,errno_exporter)
	$(RELEASE_BUILD) --product errno_exporter
	$(RELEASE_BUILD) --product errno-load
	python3 bench/overhead.py $(BENCH_ARGS)

# Measures the text order anew (valgrind's callgrind on the release agent with the default config:
# start, scrapes in every format, idle). Run it when startup or scrape code has changed much; a stale
# order only loses locality, never correctness.
text-order: generate
	$(call apt_install,valgrind)
	$(RELEASE_BUILD) --product errno_exporter
	python3 scripts/text_order.py .build/release/errno_exporter $(CONFIG_FILE) $(TEXT_ORDER)

bench-node: deps
	$(call apt_install,nodejs)
	python3 bench/node_flags.py $(BENCH_ARGS)

# The Grafana dashboard, generated from the panel list in scripts/gen_dashboard.py.
dashboard:
	python3 scripts/gen_dashboard.py

# Syscall and errno name tables, generated from the kernel UAPI headers of linux-libc-dev.
tables: deps
	python3 scripts/gen_tables.py > Sources/KernelNames/Generated/Tables.swift.tmp
	mv Sources/KernelNames/Generated/Tables.swift.tmp Sources/KernelNames/Generated/Tables.swift

check-generated: deps
	@python3 scripts/gen_tables.py | diff -u Sources/KernelNames/Generated/Tables.swift - \
		|| { echo "Sources/KernelNames/Generated/Tables.swift is stale: run 'make tables'"; exit 1; }

# Installs the release binary, the default config (kept if one exists) and the systemd unit.
PREFIX ?= /usr/local
DESTDIR ?=
BINARY ?= .build/$(SWIFT_CONFIGURATION)/errno_exporter
install: build install-files

install-files:
	install -D -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/errno_exporter
	@if [ -e $(DESTDIR)/etc/errno_exporter/config.yml ]; then echo "keeping $(DESTDIR)/etc/errno_exporter/config.yml"; \
	else install -D -m 0644 config/errno_exporter.yml $(DESTDIR)/etc/errno_exporter/config.yml; fi
	sed 's|/usr/local/bin/errno_exporter|$(PREFIX)/bin/errno_exporter|' config/systemd/errno_exporter.service \
		| install -D -m 0644 /dev/stdin $(DESTDIR)/etc/systemd/system/errno_exporter.service
	@echo "installed; start it with: systemctl daemon-reload && systemctl enable --now errno_exporter"

clean:
	rm -rf .build $(GENERATED) $(PROTO_GENERATED) $(PPROF_GENERATED)
