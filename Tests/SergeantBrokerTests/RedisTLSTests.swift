import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// `rediss://` against a real redis-server listening with `--tls-port` and certificates made
/// by the `openssl` command: a verified connection carries the broker's traffic, and each
/// kind of mismatch (a wrong CA, a wrong name, plain against TLS and TLS against plain) fails
/// at once with its own ``BrokerError/Reason`` and a message that says what to change.
final class RedisTLSTests: XCTestCase {
    var server: RedisServer!
    var certificates: TestCertificates!
    let logs = CapturedLogs()

    override func setUpWithError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-tls-\(UUID().uuidString)")
        certificates = try TestCertificates(directory: directory)
    }

    override func tearDown() {
        server = nil
        if let certificates { try? FileManager.default.removeItem(at: certificates.directory) }
    }

    func startServer(authenticatesClients: Bool = false) throws {
        server = try RedisServer(options: .init(tls: .init(certificates: certificates, authenticatesClients: authenticatesClients)))
    }

    func broker(_ node: RedisNode, reconnectTimeout: Double = 30) -> Broker {
        Broker(connector: RedisConnector(nodes: [node], logger: logs.logger, reconnectTimeout: reconnectTimeout), encoder: TaskEncoder())
    }

    /// Pushes, pops and counts through `node`: the broker's whole round trip.
    func roundTrip(_ node: RedisNode, reconnectTimeout: Double = 30) throws {
        let broker = broker(node, reconnectTimeout: reconnectTimeout)
        try broker.push(tasks: (0..<50).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: "tls")
        XCTAssertEqual(try broker.count(queue: "tls", includeDelayed: true), 50)
        let popped = try broker.pop(queue: "tls", count: 50)
        XCTAssertEqual(popped.tasks.count, 50)
        XCTAssertEqual(try broker.count(queue: "tls", includeDelayed: true), 0)
    }

    /// The error `body` throws, with the seconds it took to throw it.
    func failure(_ body: () throws -> Void) -> (BrokerError?, Double) {
        let start = MonotonicClock.now
        do {
            try body()
            XCTFail("no error")
            return (nil, 0)
        } catch let error as BrokerError {
            return (error, MonotonicClock.now - start)
        } catch {
            XCTFail("not a BrokerError: \(error)")
            return (nil, 0)
        }
    }

    // MARK: Verified connections

    func testAVerifiedTLSConnectionCarriesTheBrokersTraffic() throws {
        try startServer()
        // By name (the certificate's DNS entry) and by address (its IP entry).
        try roundTrip(server.tlsNode(host: "localhost"))
        try roundTrip(server.tlsNode(host: "127.0.0.1"))
        XCTAssertEqual(RedisNode(url: server.tlsURL())?.tls?.verify, true, "verification is on by default")
    }

    func testAClientCertificateIsSentToAServerThatWantsOne() throws {
        try startServer(authenticatesClients: true)
        try roundTrip(server.tlsNode { tls in
            tls.certificateFile = certificates.path("client.crt")
            tls.keyFile = certificates.path("client.key")
        })
        // Without one, the server refuses the session, which is not retried.
        let (error, seconds) = failure { try roundTrip(server.tlsNode()) }
        guard case .tlsHandshakeFailed? = error?.reason else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(error!.message.contains("set cert_file and key_file"), error!.message)
        XCTAssertLessThan(seconds, 5)
    }

    // MARK: Mismatches

    func testACertificateOfAnotherCAIsRejectedAtOnce() throws {
        try startServer()
        let (error, seconds) = failure { try roundTrip(server.tlsNode { $0.caFile = certificates.path("other-ca.crt") }) }
        guard case .tlsCertificateRejected(let code, _)? = error?.reason else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue([19, 20].contains(code), "certificate chain of an unknown CA: \(code)")
        XCTAssertTrue(error!.message.contains("did not verify"), error!.message)
        XCTAssertTrue(error!.message.contains("ca_file"), error!.message)
        XCTAssertLessThan(seconds, 5, "a certificate that does not verify is not retried for the reconnect timeout")
        // Without verification the same CA file does not matter (tests only).
        try roundTrip(server.tlsNode { tls in
            tls.caFile = certificates.path("other-ca.crt")
            tls.verify = false
        })
    }

    func testACertificateForOtherNamesIsRejected() throws {
        try startServer()
        let (error, seconds) = failure { try roundTrip(server.tlsNode { $0.serverName = "redis.invalid" }) }
        XCTAssertEqual(error?.reason, .tlsHostNameMismatch(expected: "redis.invalid"))
        XCTAssertTrue(error?.message.contains("is not for 'redis.invalid'") == true, error?.message ?? "")
        XCTAssertLessThan(seconds, 5)
    }

    func testAPlainClientOnTheTLSPortIsToldToUseRediss() throws {
        try startServer()
        let plain = RedisNode(host: "127.0.0.1", port: server.tlsPort!)
        let (error, _) = failure { try roundTrip(plain, reconnectTimeout: 1) }
        XCTAssertEqual(error?.reason, .closedDuringSetup)
        XCTAssertTrue(error?.message.contains("rediss://") == true, error?.message ?? "")
    }

    func testATLSClientOnAPlainPortIsToldToUseRedis() throws {
        try startServer()
        var node = server.tlsNode()
        node.port = server.port
        let (error, seconds) = failure { try roundTrip(node) }
        XCTAssertEqual(error?.reason, .tlsNotSpokenByServer)
        XCTAssertTrue(error?.message.contains("use redis://") == true, error?.message ?? "")
        XCTAssertLessThan(seconds, 10, "one handshake (at most its timeout), not the reconnect timeout")
    }

    func testAnUnreadableCAFileIsAConfigurationError() throws {
        try startServer()
        let (error, _) = failure { try roundTrip(server.tlsNode { $0.caFile = "/nonexistent/ca.crt" }) }
        guard case .tlsConfiguration(let text)? = error?.reason else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(text.contains("/nonexistent/ca.crt"), text)
    }
}
