import Foundation
import SergeantCore

// MARK: - RedisServer

/// A private `redis-server` on a free loopback port, started for a test and stopped after
/// it. No persistence unless asked for, so nothing is left behind.
public final class RedisServer: @unchecked Sendable {
    /// The port it listens on.
    public let port: Int
    /// Its data directory.
    public let directory: URL
    private let process: ChildProcess

    /// Starts a server and waits (polling, with a deadline) until it answers PING.
    public init(port: Int? = nil, persistent: Bool = false) throws {
        let port = try port ?? freePort()
        self.port = port
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-redis-\(port)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = try ChildProcess([try which("redis-server"), "--port", String(port), "--bind", "127.0.0.1",
                                    "--dir", directory.path, "--save", "", "--appendonly", persistent ? "yes" : "no",
                                    "--loglevel", "warning"])
        try waitUntil(timeout: 10, "redis-server on port \(port) to answer") { self.ping() }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// `redis://127.0.0.1:PORT/0`.
    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// The node description.
    public var node: RedisNode { RedisNode(host: "127.0.0.1", port: port) }

    /// Stops the server and waits for it to exit.
    public func stop() {
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        if process.wait(timeout: 10) == nil {
            process.signal(SIGKILL)
            process.wait()
        }
    }

    /// True when the server answers PING.
    public func ping() -> Bool {
        (try? command("PING")) == "+PONG"
    }

    /// Sends one inline command and returns the first reply line (tests only).
    public func command(_ words: String...) throws -> String {
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
        var request = "*\(words.count)\r\n"
        for word in words { request += "$\(word.utf8.count)\r\n\(word)\r\n" }
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        var reply = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &reply, reply.count, 0)
        guard count > 0 else { throw SupportError("no reply") }
        let text = String(decoding: reply[..<count], as: UTF8.self)
        return String(text.split(separator: "\r\n", omittingEmptySubsequences: false).first ?? "")
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
