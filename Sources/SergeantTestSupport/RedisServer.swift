import Foundation
import SergeantCore

// MARK: - RedisServer

/// A private `redis-server` on a loopback port (a free one unless told), started for a test
/// or a tool and stopped after it. No persistence unless asked for, so nothing is left
/// behind. It can be stopped, killed and started again on the same port and directory.
public final class RedisServer: @unchecked Sendable {
    /// How to run the server.
    public struct Options: Sendable {
        /// The port; nil: a free one.
        public var port: Int?
        /// The data directory, kept after the server; nil: a new temporary one, removed
        /// when the server object goes.
        public var directory: URL?
        /// Writes an append-only file (`--appendonly yes`).
        public var appendOnly: Bool
        /// Lets redis-server rewrite the append-only file when it grows; false keeps one
        /// growing file (`--auto-aof-rewrite-percentage 0`), whose writes can be read back.
        public var rewritesAppendOnlyFile: Bool
        /// Seconds a start waits for the server to answer PING.
        public var startTimeout: Double
        /// Runs the server in a process group of its own (its pid is the group id).
        public var ownProcessGroup: Bool
        /// More `redis-server` arguments, after the others (so they win): for example
        /// `["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]` or `["--save", "60 1"]`.
        public var extraArguments: [String]
        /// Also listens with TLS (`--tls-port`) on ``RedisServer/tlsPort``, with these
        /// certificates; the plain port stays open.
        public var tls: TLS?
        /// ACL users, one `user NAME on >PASSWORD ~KEYS +@CATEGORY` rule line each, written to
        /// an ACL file (`--aclfile`) after a `default` user that may do anything (the
        /// harness's own commands log in as `default`).
        public var aclUsers: [String]?
        /// Runs a sentinel (`redis-server sentinel.conf --sentinel`) instead of a data server.
        public var sentinel: Sentinel?

        /// Creates options.
        public init(port: Int? = nil, directory: URL? = nil, appendOnly: Bool = false,
                    rewritesAppendOnlyFile: Bool = true, startTimeout: Double = 10, ownProcessGroup: Bool = false,
                    extraArguments: [String] = [], tls: TLS? = nil, aclUsers: [String]? = nil) {
            self.extraArguments = extraArguments
            self.tls = tls
            self.aclUsers = aclUsers
            self.port = port
            self.directory = directory
            self.appendOnly = appendOnly
            self.rewritesAppendOnlyFile = rewritesAppendOnlyFile
            self.startTimeout = startTimeout
            self.ownProcessGroup = ownProcessGroup
        }
    }

    /// TLS settings of a server (``Options/tls``).
    public struct TLS: Sendable {
        /// The server's certificate and key, and the CA that clients must present
        /// certificates of.
        public var certificates: TestCertificates
        /// The TLS port; nil: a free one.
        public var port: Int?
        /// Requires clients to present a certificate (`--tls-auth-clients yes`).
        public var authenticatesClients: Bool

        /// Creates TLS settings.
        public init(certificates: TestCertificates, port: Int? = nil, authenticatesClients: Bool = false) {
            self.certificates = certificates
            self.port = port
            self.authenticatesClients = authenticatesClients
        }
    }

    /// A sentinel's settings (``Options/sentinel``): the master it monitors, with fast
    /// failure detection for tests.
    public struct Sentinel: Sendable {
        /// The name the master is monitored under.
        public var masterName: String
        /// The master's port on 127.0.0.1.
        public var masterPort: Int
        /// Sentinels that must agree the master is down.
        public var quorum: Int
        /// Milliseconds without an answer before the master is considered down.
        public var downAfterMilliseconds: Int
        /// The sentinel's own password (`requirepass` in sentinel.conf); nil: none.
        public var password: String?
        /// The password the sentinel logs in to the master and replicas with
        /// (`sentinel auth-pass`); nil: none.
        public var masterPassword: String?

        /// Creates sentinel settings.
        public init(masterName: String = "mymaster", masterPort: Int, quorum: Int = 2, downAfterMilliseconds: Int = 1000,
                    password: String? = nil, masterPassword: String? = nil) {
            self.masterName = masterName
            self.masterPort = masterPort
            self.quorum = quorum
            self.downAfterMilliseconds = downAfterMilliseconds
            self.password = password
            self.masterPassword = masterPassword
        }
    }

    /// The port it listens on.
    public let port: Int
    /// The password the harness's own commands (``command(_:)``) log in with first; nil: none.
    public var password: String?
    /// The port it listens on with TLS, when ``Options/tls`` is set.
    public let tlsPort: Int?
    /// Its data directory.
    public let directory: URL
    private let options: Options
    private let ownsDirectory: Bool
    private var process: ChildProcess?

    /// Starts a server and waits (polling, with a deadline) until it answers PING.
    public convenience init(port: Int? = nil, persistent: Bool = false) throws {
        try self.init(options: Options(port: port, appendOnly: persistent))
    }

    /// Starts a server as `options` say and waits (polling, with a deadline) until it
    /// answers PING; its output goes to `output` (by default redis.log in its directory).
    public init(options: Options, output: String? = nil) throws {
        let port = try options.port ?? freePort()
        self.port = port
        var tlsPort: Int?
        if let tls = options.tls {
            tlsPort = try tls.port ?? freePort(other: port)
        }
        self.tlsPort = tlsPort
        self.options = options
        ownsDirectory = options.directory == nil
        directory = options.directory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-redis-\(port)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try start(output: output)
    }

    deinit {
        stop()
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    /// `redis://127.0.0.1:PORT/0`.
    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// The node description.
    public var node: RedisNode { RedisNode(host: "127.0.0.1", port: port) }

    /// `rediss://HOST:TLSPORT/0?ca_file=CA` of a server with ``Options/tls``, verifying with
    /// the test CA (`localhost` and `127.0.0.1` are the names its certificate carries).
    public func tlsURL(host: String = "localhost") -> String {
        guard let tlsPort, let tls = options.tls else { preconditionFailure("redis-server on port \(port) has no TLS port") }
        return "rediss://\(host):\(tlsPort)/0?ca_file=\(tls.certificates.path("ca.crt"))"
    }

    /// The node of ``tlsURL(host:)``, with `tls` changed by `adjust` (a wrong CA, a client
    /// certificate).
    public func tlsNode(host: String = "localhost", _ adjust: (inout RedisTLSConfig) -> Void = { _ in }) -> RedisNode {
        var node = RedisNode(url: tlsURL(host: host))!
        adjust(&node.tls!)
        return node
    }

    /// The server process's id while it runs.
    public var pid: pid_t? { isRunning ? process?.pid : nil }

    /// The file the server's output goes to (of its latest start).
    public var outputPath: String? { process?.outputPath }

    /// True while the server process runs.
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Starts the server (again, after ``stop(timeout:)`` or ``kill()``: same port, same
    /// directory, so a persistent server comes back with its data) and waits until it
    /// answers PING; its output goes to `output` (by default redis.log in its directory).
    /// `waitsUntilReady` false returns at once: for a test of what clients meet while the
    /// server loads its data (it answers `-LOADING` meanwhile, PING included).
    public func start(output: String? = nil, waitsUntilReady: Bool = true) throws {
        precondition(!isRunning, "redis-server on port \(port) runs already")
        var arguments = [try which("redis-server")]
        if let sentinel = options.sentinel {
            // Sentinel rewrites its configuration file: written once, kept across restarts.
            let file = directory.appendingPathComponent("sentinel.conf")
            if !FileManager.default.fileExists(atPath: file.path) {
                let name = sentinel.masterName
                var lines = ["sentinel monitor \(name) 127.0.0.1 \(sentinel.masterPort) \(sentinel.quorum)",
                             "sentinel down-after-milliseconds \(name) \(sentinel.downAfterMilliseconds)",
                             "sentinel failover-timeout \(name) 5000"]
                if let password = sentinel.masterPassword { lines.append("sentinel auth-pass \(name) \(password)") }
                if let password = sentinel.password { lines.append("requirepass \(password)") }
                try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            }
            arguments += [file.path, "--sentinel"]
        }
        arguments += ["--port", String(port), "--bind", "127.0.0.1",
                         "--dir", directory.path, "--save", "", "--appendonly", options.appendOnly ? "yes" : "no"]
        if !options.rewritesAppendOnlyFile { arguments += ["--auto-aof-rewrite-percentage", "0"] }
        if let tls = options.tls, let tlsPort {
            arguments += ["--tls-port", String(tlsPort), "--tls-cert-file", tls.certificates.path("server.crt"),
                          "--tls-key-file", tls.certificates.path("server.key"), "--tls-ca-cert-file", tls.certificates.path("ca.crt"),
                          "--tls-auth-clients", tls.authenticatesClients ? "yes" : "no"]
        }
        if let users = options.aclUsers {
            let file = directory.appendingPathComponent("users.acl")
            let lines = ["user default on nopass ~* &* +@all"] + users
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
            arguments += ["--aclfile", file.path]
        }
        let process = try ChildProcess(arguments + ["--loglevel", "warning"] + options.extraArguments,
                                   output: output ?? directory.appendingPathComponent("redis.log").path,
                                   processGroup: options.ownProcessGroup)
        self.process = process
        guard waitsUntilReady else { return }
        let deadline = Date().addingTimeInterval(options.startTimeout)
        while !ping() {
            guard process.isRunning else { throw SupportError("redis-server exited at start; see \(process.outputPath)") }
            guard Date() < deadline else {
                throw SupportError("redis-server on port \(port) did not answer PING within \(options.startTimeout) s")
            }
            usleep(10_000)
        }
    }

    /// Stops the server with SIGTERM (it writes what it must first) and waits for it to
    /// exit; after `timeout` seconds it is killed. Returns false when it had to be killed.
    @discardableResult
    public func stop(timeout: Double = 10) -> Bool {
        guard let process, process.isRunning else { return true }
        process.signal(SIGTERM)
        guard process.wait(timeout: timeout) != nil else {
            kill()
            return false
        }
        return true
    }

    /// Kills the server with SIGKILL (nothing written first) and waits for it to exit.
    public func kill() {
        guard let process, process.isRunning else { return }
        process.signal(SIGKILL)
        process.wait()
    }

    /// Sends `signal` to the server process (`SIGSTOP`: a master that stops answering
    /// without closing its connections; `SIGCONT` resumes it).
    public func signal(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        process.signal(signal)
    }

    /// True when the server answers PING (or says it wants a password first).
    public func ping() -> Bool {
        // A server that wants a password (`--requirepass`) answers too.
        guard let reply = try? command("PING") else { return false }
        return reply == "+PONG" || reply.hasPrefix("-NOAUTH")
    }

    /// Sends one command and returns the first reply line (tests only).
    public func command(_ words: String...) throws -> String {
        try reply(words).first ?? ""
    }

    /// Sends one command (after an AUTH with ``password``, if set) and returns the lines of
    /// its reply, as far as one read brings them (tests only: short replies).
    public func reply(_ words: [String]) throws -> [String] {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SupportError("socket failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SupportError("connect failed") }
        func exchange(_ words: [String]) throws -> [String] {
            var request = "*\(words.count)\r\n"
            for word in words { request += "$\(word.utf8.count)\r\n\(word)\r\n" }
            _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
            var reply = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &reply, reply.count, 0)
            guard count > 0 else { throw SupportError("no reply") }
            let text = String(decoding: reply[..<count], as: UTF8.self)
            return text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        }
        if let password {
            let login = try exchange(["AUTH", password])
            guard login.first == "+OK" else { return login }
        }
        return try exchange(words)
    }
}

// MARK: - Helpers

/// An error of the test support code.
public struct SupportError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now, other than `other`.
func freePort(other: Int) throws -> Int {
    for _ in 0..<20 {
        let port = try freePort()
        if port != other { return port }
    }
    throw SupportError("cannot find a second free port")
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard bound == 0 else { throw SupportError("cannot find a free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
public func waitUntil(timeout: Double, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(10_000)
    }
    throw SupportError("timed out after \(timeout) s waiting for \(what)")
}

/// The full path of an executable on PATH.
public func which(_ name: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw SupportError("\(name) is not installed; run `make test`, which installs it")
}
