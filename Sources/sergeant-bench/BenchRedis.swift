import Logging
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - BenchRedis

/// A private redis-server (``RedisServer``) on a free loopback port, in a process group of
/// its own that an interrupted benchmark kills, whose CPU affinity the benchmark sets per
/// row (single rows pin it to core 0).
final class BenchRedis {
    let server: RedisServer
    let connection: RedisConnection

    /// Starts the server; with `tls`, it also listens with TLS (``RedisServer/tlsPort``).
    init(logger: Logger, tls: TestCertificates? = nil) throws {
        server = try RedisServer(options: RedisServer.Options(ownProcessGroup: true, tls: tls.map { RedisServer.TLS(certificates: $0) }))
        if let pid = server.pid { LiveGroups.add(pid) }
        connection = RedisConnection(node: server.node, logger: logger, reconnectTimeout: 30)
    }

    deinit {
        let pid = server.pid
        server.stop()
        if let pid { LiveGroups.remove(pid) }
    }

    var port: Int { server.port }

    var node: RedisNode { server.node }

    /// Empties every database.
    func flush() throws {
        _ = try connection.command("FLUSHALL")
    }

    /// Sets the CPU affinity of every thread of the server (`taskset -a -p -c CORES PID`).
    func pin(_ cores: String) throws {
        guard let pid = server.pid else { throw SupportError("redis-server on port \(port) is not running") }
        _ = try Spawned.run(["taskset", "-a", "-p", "-c", cores, String(pid)])
    }

    /// `redis-server --version`'s version number.
    static func version() -> String {
        guard let output = try? Spawned.run(["redis-server", "--version"]),
              let field = output.split(separator: " ").first(where: { $0.hasPrefix("v=") }) else { return "?" }
        return String(field.dropFirst(2))
    }
}
