import Testing

import SystemSupport
@testable import KernelNames

@Suite struct NamesTests {
    @Test func x86_64SyscallNumbers() {
        let names = SyscallNames(.x86_64)
        #expect(names.name(0) == "read")
        #expect(names.name(2) == "open")
        #expect(names.name(85) == "creat")
        #expect(names.name(257) == "openat")
        #expect(names.name(262) == "newfstatat")
        #expect(names.name(437) == "openat2")
        #expect(names.name(335) == "uretprobe")
        #expect(names.name(462) == "mseal")
        #expect(names.name(9999) == "syscall_9999")
        #expect(names.number("openat") == 257)
    }

    @Test func arm64SyscallNumbersFollowTheGenericTable() {
        let names = SyscallNames(.arm64)
        #expect(names.name(56) == "openat")
        #expect(names.name(63) == "read")
        #expect(names.name(79) == "newfstatat")
        #expect(names.name(25) == "fcntl")
        #expect(names.name(437) == "openat2")
        #expect(names.name(469) == "file_setattr")
        #expect(names.number("open") == nil)  // arm64 has no open(2) nor creat(2)
        #expect(names.number("creat") == nil)
        #expect(names.name(244) == "syscall_244")  // __NR_arch_specific_syscall is a base, not a syscall
    }

    @Test func errnoNamesPreferTheCanonicalName() {
        #expect(ErrnoNames.name(1) == "EPERM")
        #expect(ErrnoNames.name(2) == "ENOENT")
        #expect(ErrnoNames.name(9) == "EBADF")
        #expect(ErrnoNames.name(11) == "EAGAIN")  // not EWOULDBLOCK
        #expect(ErrnoNames.name(35) == "EDEADLK")  // not EDEADLOCK
        #expect(ErrnoNames.name(95) == "EOPNOTSUPP")
        #expect(ErrnoNames.name(133) == "EHWPOISON")
        #expect(ErrnoNames.name(512) == "ERESTARTSYS")
        #expect(ErrnoNames.name(524) == "ENOTSUPP")
        #expect(ErrnoNames.name(520) == "errno_520")
        #expect(ErrnoNames.name(4095) == "errno_4095")
        #expect(ErrnoNames.value("ENOENT") == 2)
    }
}

@Suite struct CgroupMountTests {
    @Test func findsCgroup2OnUnifiedAndHybridHosts() {
        let unified = "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
        let hybrid = """
            31 23 0:27 / /sys/fs/cgroup ro shared:9 - tmpfs tmpfs ro,mode=755
            32 31 0:28 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw
            33 31 0:29 / /sys/fs/cgroup/cpu rw shared:11 - cgroup cgroup rw,cpu
            """
        let nested = "40 23 0:26 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        #expect(Cgroup2Mount.path(mountinfo: unified) == "/sys/fs/cgroup")
        #expect(Cgroup2Mount.path(mountinfo: hybrid) == "/sys/fs/cgroup/unified")
        #expect(Cgroup2Mount.path(mountinfo: nested) == nil, "a bind mount of a sub-tree is not the root")
        #expect(Cgroup2Mount.path(mountinfo: "") == nil)
    }
}
