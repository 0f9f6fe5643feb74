/// The path-taking syscalls errno_exporter can count per path, with the argument that holds the
/// path (1-based) — the one whose failure the path explains. Syscalls with two paths (rename, link)
/// are counted by their first; symlink by the link it creates.
public enum PathSyscalls {
    public static let pathArgument: [String: Int] = [
        // open family: the default of paths.syscalls
        "open": 1, "openat": 2, "openat2": 2, "creat": 1,
        // stat family
        "stat": 1, "lstat": 1, "newfstatat": 2, "statx": 2, "statfs": 1,
        // access family
        "access": 1, "faccessat": 2, "faccessat2": 2,
        // exec
        "execve": 1, "execveat": 2,
        // links, names, directories
        "readlink": 1, "readlinkat": 2, "unlink": 1, "unlinkat": 2, "rmdir": 1,
        "mkdir": 1, "mkdirat": 2, "mknod": 1, "mknodat": 2,
        "rename": 1, "renameat": 2, "renameat2": 2, "link": 1, "linkat": 2, "symlink": 2, "symlinkat": 3,
        "chdir": 1, "chroot": 1, "pivot_root": 1,
        // attributes
        "chmod": 1, "fchmodat": 2, "fchmodat2": 2, "chown": 1, "lchown": 1, "fchownat": 2,
        "truncate": 1, "utime": 1, "utimes": 1, "utimensat": 2, "futimesat": 2,
        "getxattr": 1, "lgetxattr": 1, "setxattr": 1, "lsetxattr": 1, "listxattr": 1, "llistxattr": 1,
        "removexattr": 1, "lremovexattr": 1,
        // watching, handles, mounts, swap, accounting
        "inotify_add_watch": 2, "name_to_handle_at": 2, "open_tree": 2, "fspick": 2,
        "mount": 2, "umount2": 1, "swapon": 1, "swapoff": 1, "acct": 1,
    ]

    /// The default of `paths.syscalls`: the open family.
    public static let openFamily = ["open", "openat", "openat2", "creat"]
}
