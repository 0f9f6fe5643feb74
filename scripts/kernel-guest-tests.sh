#!/usr/bin/env bash
# Runs the kernel-dependent integration tests inside Debian 12's own kernel — the newest
# linux-image-6.1.0-*-amd64 from Debian's archive, unpacked under .build/kernels (never installed
# into /boot) — booted under QEMU (TCG: /dev/kvm here is a nested software hypervisor QEMU cannot
# use) by virtme-ng, which shares this machine's root file system read-only with the guest, so the
# built agent, the test bundle, node and gcc are there as they are here (the checkout is shared
# explicitly too: the guest's /tmp is a fresh tmpfs, and a checkout may live there). The guest writes the test
# output and exit code into a shared directory (vng --exec's own exit code is 255 here: no udevd,
# no virtio-serial port). Fails loudly when the guest does not boot or does not report.
#
#   GUEST_TESTS   test filter (a regular expression over suite and test names)
#   GUEST_SKIP    tests not run there (default: two that test no kernel behaviour and need a fast
#                 CPU — a 20,000-series scrape in flight at SIGTERM, and a browser — which an
#                 emulated CPU ~20x slower cannot give)
#   GUEST_TIMEOUT seconds for boot + tests (default 2700: the suites take 1,100-1,400 s under TCG
#                 when the host is quiet, and this shared host's speed varies by up to 2x)
# Tests run one at a time in the guest: two emulated CPUs shared by thirty agents would turn every
# bounded wait into a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

filter=${GUEST_TESTS:-'FailureCountingTests|PathFailureTests|ReloadTests|TriggerTests|NodeyTests|WarmNodeyTests|WebhookTests|WatchTests|GuestKernelTests'}
skip=${GUEST_SKIP:-'sigtermDuringAScrapeFinishesItExitsZeroAndDetaches|theLandingPageShowsTheLatestCaptureInARealBrowser'}
timeout_seconds=${GUEST_TIMEOUT:-2700}
kernels=.build/kernels
bundle=.build/debug/errno_exporterPackageTests.xctest
[ -x "$bundle" ] || { echo "kernel-guest-tests: $bundle is missing: run 'swift build --build-tests' first" >&2; exit 1; }
vng=$(command -v vng || echo "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/vng")
[ -x "$vng" ] || { echo "kernel-guest-tests: vng (PyPI virtme-ng) is not installed" >&2; exit 1; }

newest() { apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -n 1; }
package=$(newest)
if [ -z "$package" ]; then apt-get update -qq; package=$(newest); fi
[ -n "$package" ] || { echo "kernel-guest-tests: no linux-image-6.1.0-*-amd64 in Debian's archive" >&2; exit 1; }
version=${package#linux-image-}
root="$kernels/$version"
if [ ! -f "$root/boot/vmlinuz-$version" ]; then
	mkdir -p "$kernels/download"
	rm -f "$kernels/download/${package}"_*.deb
	(cd "$kernels/download" && apt-get download "$package")
	rm -rf "$root.tmp" && dpkg-deb -x "$kernels/download/${package}"_*.deb "$root.tmp" && mv "$root.tmp" "$root"
fi

shared=$(mktemp -d /tmp/errno-guest.XXXXXX)
trap 'rm -rf "$shared"' EXIT
cat > "$shared/run.sh" <<GUEST
#!/bin/sh
cd "$PWD"
uname -r > "$shared/kernel"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
export HOME=/tmp PATH="$PATH" ERRNO_TEST_TIME_SCALE=\${ERRNO_TEST_TIME_SCALE:-10}
"$bundle" --testing-library swift-testing --no-parallel --filter '$filter' --skip '$skip' > "$shared/tests.log" 2>&1
echo \$? > "$shared/rc"
GUEST
chmod +x "$shared/run.sh"

echo "kernel-guest-tests: booting $version under QEMU (TCG) for: $filter"
started=$(date +%s)
timeout "$timeout_seconds" "$vng" --run "$root/boot/vmlinuz-$version" --busybox /bin/busybox --force-9p --disable-kvm \
	--cpus 2 --memory 4G --rwdir "$shared" --rwdir "$PWD" --exec "$shared/run.sh" > "$shared/vng.log" 2>&1 || true
[ -f "$shared/tests.log" ] && sed 's/\x1b\[[0-9;]*m//g' "$shared/tests.log"
if [ ! -f "$shared/rc" ]; then
	echo "kernel-guest-tests: the $version guest did not report (boot failure or timeout after ${timeout_seconds}s); its console:" >&2
	tail -n 60 "$shared/vng.log" >&2
	exit 1
fi
echo "kernel-guest-tests: guest kernel $(cat "$shared/kernel"), $(( $(date +%s) - started ))s, exit $(cat "$shared/rc")"
exit "$(cat "$shared/rc")"
