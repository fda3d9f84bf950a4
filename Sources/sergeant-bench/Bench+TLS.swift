import Foundation
import SergeantTestSupport

// MARK: - TLS rows

extension Bench {
    /// Consume 1 and 1,000 per transaction (at-least-once, msgpack, unpinned), each over plain
    /// TCP and over TLS to one redis-server that listens on both (certificates of a test CA
    /// made with the openssl command), so that the rows differ only in the encryption.
    func tlsRows() throws -> [Row] {
        if tlsRedis == nil {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-bench-tls-\(getpid())")
            tlsRedis = try BenchRedis(logger: logger, tls: TestCertificates(directory: directory))
        }
        var rows: [Row] = []
        for kind in [Kind.consumeOne, .consumeBatch] {
            for tls in [false, true] {
                rows.append(Row(section: "tls", kind: kind, system: .this, compressor: "none", atLeastOnce: true,
                                detail: tls ? "TLS" : "plain", tasks: options.tasks) { [unowned self] in
                    let server = self.tlsRedis!
                    return try self.consumeThis(perTransaction: kind == .consumeOne ? 1 : 1000, compressor: "none", atLeastOnce: true,
                                                pinned: false, nodes: [server],
                                                redisURL: tls ? server.server.tlsURL(host: "127.0.0.1") : server.server.url)
                })
            }
        }
        return rows
    }
}
