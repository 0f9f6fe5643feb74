import Testing

@testable import ErrnoConfig

/// Every way a config can be wrong, each with the exact report a user gets: file:line:column, the key
/// path, and what is wrong (with a hint where one helps).
@Suite struct BrokenConfigTests {
    static let cases: [(yaml: String, expected: [String])] = [
        ("bogus: 1\n", [#"c.yml:1:1: bogus: unknown key; known keys: syscalls, paths, filters, triggers, captures, alerts, symbolization"#]),
        ("sycalls: {}\n", [#"c.yml:1:1: sycalls: unknown key; did you mean "syscalls"?"#]),
        ("syscalls:\n  max_serie: 5\n", [#"c.yml:2:3: syscalls.max_serie: unknown key; did you mean "max_series"?"#]),
        ("syscalls:\n  max_series: lots\n", ["c.yml:2:15: syscalls.max_series: expected an integer"]),
        ("syscalls:\n  max_series: 0\n", ["c.yml:2:15: syscalls.max_series: 0 is out of range 1...1000000"]),
        ("syscalls:\n  max_series: 2000000\n", ["c.yml:2:15: syscalls.max_series: 2000000 is out of range 1...1000000"]),
        ("syscalls:\n  max_series: 1.5\n", ["c.yml:2:15: syscalls.max_series: expected an integer"]),
        ("syscalls:\n  max_series: '10'\n", ["c.yml:2:15: syscalls.max_series: expected an integer"]),
        ("syscalls:\n  exclude_errnos: EAGAIN\n", ["c.yml:2:19: syscalls.exclude_errnos: expected a list"]),
        ("syscalls:\n  exclude_errnos: [EAGIAN]\n", [#"c.yml:2:20: syscalls.exclude_errnos[0]: unknown errno name "EAGIAN" (use the symbolic name, e.g. EAGAIN)"#]),
        ("syscalls:\n  exclude_errnos: [11]\n", [#"c.yml:2:20: syscalls.exclude_errnos[0]: unknown errno name "11" (use the symbolic name, e.g. EAGAIN)"#]),
        ("syscalls:\n  exclude_errnos: [[EAGAIN]]\n", ["c.yml:2:20: syscalls.exclude_errnos[0]: expected a string"]),
        ("syscalls: 7\n", ["c.yml:1:11: syscalls: expected a mapping of labels, max_series, exclude_errnos"]),
        ("syscalls:\n  labels: [syscall, errno, comm, tid]\n", [#"c.yml:2:34: syscalls.labels[3]: unknown label "tid"; labels are syscall, errno, comm, optionally pid, cgroup"#]),
        ("syscalls:\n  labels: [syscall, errno, comm, pid, pid]\n", [#"c.yml:2:39: syscalls.labels[4]: label "pid" is listed twice"#]),
        ("paths:\n  labels: [syscall, path, errno]\n", ["c.yml:2:11: paths.labels: comm cannot be left out; labels are syscall, path, errno, comm, optionally pid, cgroup"]),
        ("paths:\n  syscalls: [opne]\n", [#"c.yml:2:14: paths.syscalls[0]: "opne" is not a path syscall errno_exporter knows; known: "#]),
        ("paths:\n  syscalls: [read]\n", [#"c.yml:2:14: paths.syscalls[0]: "read" is not a path syscall errno_exporter knows; known: "#]),
        ("paths:\n  syscalls: openat\n", ["c.yml:2:13: paths.syscalls: expected a list"]),
        ("paths:\n  max_series: -1\n", ["c.yml:2:15: paths.max_series: -1 is out of range 1...1000000"]),
        ("paths:\n  rewrite:\n    - regex: '(unclosed'\n      replacement: x\n", ["c.yml:3:14: paths.rewrite[0].regex: invalid regular expression: "]),
        ("paths:\n  rewrite:\n    - regex: '^/proc/'\n", ["c.yml:3:7: paths.rewrite[0]: a rewrite rule needs both regex and replacement"]),
        ("paths:\n  rewrite:\n    - regex: a\n      replacement: b\n      flags: i\n", [#"c.yml:5:7: paths.rewrite[0].flags: unknown key; known keys: regex, replacement"#]),
        ("paths:\n  rewrite: {regex: a, replacement: b}\n", ["c.yml:2:12: paths.rewrite: expected a list"]),
        ("filters:\n  comms: [averyveryverylongname]\n", ["c.yml:2:11: filters.comms[0]: a comm is 1 to 15 bytes (the kernel truncates longer names); got 21"]),
        ("filters:\n  comms: ['']\n", ["c.yml:2:11: filters.comms[0]: a comm is 1 to 15 bytes (the kernel truncates longer names); got 0"]),
        ("filters:\n  comms: [node]\n  exclude_comms: [node]\n", [#"c.yml:2:3: filters: comm "node" is both in comms and exclude_comms"#]),
        ("filters:\n  pids: [0]\n", ["c.yml:2:10: filters.pids[0]: 0 is out of range 1...4194304"]),
        ("filters:\n  pids: [one]\n", ["c.yml:2:10: filters.pids[0]: expected an integer"]),
        ("filters:\n  cgroups: [system.slice]\n", ["c.yml:2:13: filters.cgroups[0]: a cgroup v2 path starts with / (relative to the cgroup2 mount), e.g. /system.slice"]),
        ("filters:\n  comm: [node]\n", [#"c.yml:2:3: filters.comm: unknown key; did you mean "comms"?"#]),
        ("syscalls:\n  max_series: 1\n  max_series: 2\n", ["c.yml:2:3: duplicate key max_series in one mapping"]),
        ("syscalls: [\n", ["c.yml:2:1: invalid YAML: "]),
        ("a: b: c\n", ["c.yml:1:5: invalid YAML: mapping values are not allowed in this context"]),
        ("triggers:\n  - name: a\n", ["c.yml:2:5: triggers[0]: a trigger needs path (exact paths) or path_prefix"]),
        ("triggers:\n  - path: /etc/x\n", ["c.yml:2:5: triggers[0]: a trigger needs a name"]),
        ("triggers:\n  - {name: 'a b', path: /x}\n", ["c.yml:2:12: triggers[0].name: a trigger name is 1 to 64 of A-Z a-z 0-9 _ . - (it becomes a label value and a URL parameter)"]),
        ("triggers:\n  - {name: a, path: /x}\n  - {name: a, path: /y}\n", [#"c.yml:3:5: triggers[1]: trigger name "a" is used twice"#]),
        ("triggers:\n  - {name: a, path: ''}\n", ["c.yml:2:21: triggers[0].path: a trigger path cannot be empty"]),
        ("triggers:\n  - {name: a, path_prefix: []}\n", ["c.yml:2:28: triggers[0].path_prefix: an empty list matches nothing"]),
        ("triggers:\n  - {name: a, path: /x, result: failed}\n", [#"c.yml:2:33: triggers[0].result: "failed" is not one of failure, success, any"#]),
        ("triggers:\n  - {name: a, path: /x, stacks: [user, jit]}\n", [#"c.yml:2:40: triggers[0].stacks[1]: unknown stack "jit"; stacks are user, kernel"#]),
        ("triggers:\n  - {name: a, path: /x, max_per_minute: -1}\n", ["c.yml:2:41: triggers[0].max_per_minute: -1 is out of range 0...60000"]),
        ("triggers:\n  - {name: a, path: /x, armed: sometimes}\n", [#"c.yml:2:32: triggers[0].armed: "sometimes" is not one of always, on_alert"#]),
        ("triggers:\n  - {name: a, path: /x, arm_for: 10 minutes}\n", ["c.yml:2:34: triggers[0].arm_for: expected a duration from 1s to 7d, like 30s, 10m, 1h or 1h30m"]),
        ("triggers:\n  - {name: a, path: /x, comm: nodejs-server-process}\n", ["c.yml:2:31: triggers[0].comm: a comm is 1 to 15 bytes (the kernel truncates longer names); got 21"]),
        ("triggers:\n  - {name: a, paths: /x}\n", [#"c.yml:2:15: triggers[0].paths: unknown key; did you mean "path"?"#]),
        ("captures:\n  user_stack_bytes: 100\n", ["c.yml:2:21: captures.user_stack_bytes: 100 is out of range 1024...65536"]),
        ("captures:\n  user_stack_bytes: 4100\n", ["c.yml:2:21: captures.user_stack_bytes: must be a multiple of 8"]),
        ("captures:\n  keep: 0\n", ["c.yml:2:9: captures.keep: 0 is out of range 1...100000"]),
        ("alerts:\n  alertmanager_urls: [am-1:9093]\n", [#"c.yml:2:23: alerts.alertmanager_urls[0]: "am-1:9093" is not an http:// or https:// URL with a host"#]),
        ("alerts:\n  alertmanager_urls: ['http://u:p@am-1:9093']\n", ["c.yml:2:23: alerts.alertmanager_urls[0]: credentials do not go in the URL; use basic_auth or authorization"]),
        ("alerts:\n  alertmanager_urls: ['http://am:9093/?x=1']\n", ["c.yml:2:23: alerts.alertmanager_urls[0]: an Alertmanager URL has no query, fragment or space (a path prefix is fine)"]),
        ("alerts:\n  alertmanager_urls: ['http://am:9093', 'http://am:9093']\n", ["c.yml:2:22: alerts.alertmanager_urls: a peer is listed twice"]),
        ("alerts:\n  poll_interval: 0s\n", ["c.yml:2:18: alerts.poll_interval: expected a duration from 1s to 1h, like 5s or 1m"]),
        ("alerts:\n  poll_interval: 5s\n  timeout: 10s\n", ["c.yml:2:3: alerts.timeout: the timeout (10s) must not exceed poll_interval (5s)"]),
        ("alerts:\n  matchers: ['instance']\n", [#"c.yml:2:14: alerts.matchers[0]: "instance" is not a matcher like instance="host:9717" (operators =, !=, =~, !~)"#]),
        ("alerts:\n  matchers: ['instance=~\"(\"']\n", [#"c.yml:2:14: alerts.matchers[0]: invalid regular expression "(""#]),
        ("alerts:\n  matchers: ['1x=\"a\"']\n", [#"c.yml:2:14: alerts.matchers[0]: "1x" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)"#]),
        ("alerts:\n  basic_auth: {username: a}\n", ["c.yml:2:15: alerts.basic_auth: needs a username (without ':') and one of password, password_file"]),
        ("alerts:\n  authorization: {credentials_file: /nonexistent/token}\n", [
            "c.yml:2:37: alerts.authorization.credentials_file: cannot read /nonexistent/token",
            "c.yml:2:18: alerts.authorization: needs one of credentials, credentials_file (and a type without spaces, Bearer by default)",
        ]),
        ("alerts:\n  basic_auth: {username: a, password: b}\n  authorization: {credentials: c}\n", ["c.yml:2:3: alerts: basic_auth and authorization are exclusive"]),
        ("alerts:\n  tls_config: {cert_file: /etc/hostname}\n", ["c.yml:2:15: alerts.tls_config: cert_file and key_file go together (a client certificate and its key)"]),
        ("alerts:\n  tls_config: {server_name: x}\n", [#"c.yml:2:16: alerts.tls_config.server_name: unknown key; known keys: ca_file, cert_file, key_file, insecure_skip_verify"#]),
        ("symbolization:\n  debuginfod_urls: ['ftp://d:8002']\n", [#"c.yml:2:21: symbolization.debuginfod_urls[0]: "ftp://d:8002" is not an http:// or https:// URL with a host"#]),
        ("symbolization:\n  debuginfod_urls: ['http://u:p@d:8002']\n", ["c.yml:2:21: symbolization.debuginfod_urls[0]: credentials do not go in the URL"]),
        ("symbolization:\n  cache_dir: cache\n", ["c.yml:2:14: symbolization.cache_dir: an absolute path without . or .. (at most 1024 bytes)"]),
        ("symbolization:\n  cache_dir: /var/cache/../../tmp\n", ["c.yml:2:14: symbolization.cache_dir: an absolute path without . or .. (at most 1024 bytes)"]),
        ("symbolization:\n  cache_max_bytes: 1024\n", ["c.yml:2:20: symbolization.cache_max_bytes: 1024 is out of range 1048576...1099511627776"]),
        ("symbolization:\n  timeout: 1h\n", ["c.yml:2:12: symbolization.timeout: expected a duration from 1s to 10m, like 30s"]),
        // Several problems: all of them, in file order.
        ("syscalls:\n  max_series: x\npaths:\n  syscalls: [nope]\nfilters:\n  pids: [-4]\n", [
            "c.yml:2:15: syscalls.max_series: expected an integer",
            #"c.yml:4:14: paths.syscalls[0]: "nope" is not a path syscall errno_exporter knows; known: "#,
            "c.yml:6:10: filters.pids[0]: -4 is out of range 1...4194304",
        ]),
    ]

    @Test(arguments: cases.indices)
    func reportsExactlyWhereAndWhat(index: Int) {
        let (yaml, expected) = Self.cases[index]
        var reported: [String] = []
        do {
            _ = try ConfigLoader.parse(yaml, file: "c.yml")
        } catch let error as ConfigError {
            reported = error.issues.map(\.description)
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
        #expect(reported.count == expected.count, "case \(index): \(yaml.debugDescription) → \(reported)")
        for (got, want) in zip(reported, expected) {
            // Messages ending in ": " go on with text from elsewhere (the known-syscall list, the
            // YAML parser's or ICU's wording): the location and the lead are what is pinned.
            #expect(want.hasSuffix(": ") ? got.hasPrefix(want) : got == want, "case \(index): \(yaml.debugDescription)")
        }
    }

    @Test func thereAreAtLeastTwentyFiveCases() {
        #expect(Self.cases.count >= 25)
    }
}
