import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// A pop whose reply was lost when redis-server restarted, followed by a server that is still
/// loading its dataset (`-LOADING` to every data command), against a real redis-server: the
/// batch the pop moved must come to the worker, never be acknowledged unseen. This is how a
/// Redis chaos run lost one batch of 10 (issue 15): the check "did the pop run?" read the
/// `-LOADING` refusal of its `GET` as "no", and the pop sent again deleted the batch.
///
/// The server is made to load deterministically: `DEBUG RELOAD` (save, then load again, as a
/// restart does) with `key-load-delay` slowing each key, and the test waits until a probe sees
/// `-LOADING` before the connector goes on; `INFO errorstats` then proves the connector met it.
final class RedisLoadingTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }
    var server: RedisServer!
    var connector: RedisConnector! {
        didSet { if let connector { failing = FailingTransport.install(on: connector.connections[0]) } }
    }
    /// The transport of the connector's connection: arm it to lose the next round trip.
    var failing: FailingTransport!
    var inspector: RedisConnection!
    /// A connection that hands over every reply as it is, `-LOADING` too (``RawConnection``).
    var probe: RawConnection!
    /// Keys that make a reload take about 40 × ``keyLoadDelay`` µs.
    let fillerKeys = 40
    let keyLoadDelay = 75_000

    override func setUpWithError() throws {
        // Events (clients) are served every 1 KB of the load, so that they see `-LOADING`.
        server = try RedisServer(options: RedisServer.Options(extraArguments: [
            "--enable-debug-command", "local", "--loading-process-events-interval-bytes", "1024",
        ]))
        connector = RedisConnector(nodes: [server.node], logger: logger)
        inspector = RedisConnection(node: server.node, logger: logger)
        probe = try RawConnection(node: server.node)
        let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 2048)
        _ = try inspector.pipeline((0..<fillerKeys).map { [Array("SET".utf8), Array("filler\($0)".utf8), filler] })
        _ = try inspector.command("CONFIG", "SET", "key-load-delay", String(keyLoadDelay))
    }

    override func tearDownWithError() throws {
        // A reload still running ends before the server goes.
        if let probe { try waitUntil(timeout: 30, "the reload to end") { try !RedisConnection.isLoadingRefusal(probe.command("GET", "probe")) } }
        probe = nil
        connector = nil
        failing = nil
        inspector = nil
        server = nil
    }

    // MARK: Helpers

    /// Starts a reload of the dataset and returns once the server refuses commands with
    /// `-LOADING` (for a few seconds from then).
    func startLoading() throws {
        let server = server!
        Thread { _ = try? server.command("DEBUG", "RELOAD") }.start()
        // A connection made before the loading: a loading server is slow to accept new ones.
        try waitUntil(timeout: 10, "the server to load") { RedisConnection.isLoadingRefusal(try probe.command("GET", "probe")) }
    }

    /// Refusals of commands because the server was loading, since it started.
    func loadingRefusals() throws -> Int {
        guard case .bytes(let info) = try inspector.command("INFO", "errorstats") else { return -1 }
        for line in String(decoding: info, as: UTF8.self).split(whereSeparator: \.isNewline)
        where line.hasPrefix("errorstat_LOADING:count=") {
            return Int(line.dropFirst("errorstat_LOADING:count=".count).prefix { $0.isNumber }) ?? -1
        }
        return 0
    }

    func push(_ values: [UInt8]) throws {
        try connector.push(queue: "q", items: values.map { [$0] }, priority: .normal, consumableFrom: nil)
    }

    func batch(_ count: Int) throws -> [UInt8] {
        try connector.pop(KeySpace(queue: "q"), count: count, inFlightFor: "w").flatMap { $0 }
    }

    func list(_ key: String) throws -> [UInt8] {
        guard case .array(let items) = try inspector.command("LRANGE", key, "0", "-1") else { return [] }
        return items.flatMap { item -> [UInt8] in
            if case .bytes(let bytes) = item { return bytes }
            return []
        }
    }

    /// Pops (as a worker does after a failed pop: again) until a pop answers, up to `attempts`
    /// times; every task served, in order.
    func popUntilServed(attempts: Int = 3) -> (served: [UInt8], failures: [String]) {
        var failures: [String] = []
        for _ in 0..<attempts {
            do { return (try batch(3), failures) } catch { failures.append("\(error)") }
        }
        return ([], failures)
    }

    // MARK: Tests

    func testBatchTransactionThatRanBeforeTheReplyWasLostComesToTheWorkerWhileTheServerLoads() throws {
        try push(Array(1...8))
        XCTAssertEqual(try batch(3), [1, 2, 3])
        XCTAssertEqual(try batch(3), [4, 5, 6], "the MULTI/EXEC pop (no Lua) from here on")
        let refusedBefore = try loadingRefusals()
        // The transaction runs (it acknowledges 4, 5, 6 and moves 7, 8); its reply is lost,
        // and the server the connector reconnects to is loading, as after a restart.
        failing.onLoss = { [unowned self] in try? startLoading() }
        failing.next = .afterSending(unreachableFor: 0)
        let (served, failures) = popUntilServed()
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertGreaterThan(try loadingRefusals(), refusedBefore, "the connector met the loading server")
        XCTAssertEqual(served, [7, 8], "the batch the lost transaction moved, not lost (pop errors: \(failures))")
        XCTAssertEqual(try list("q.processing.w"), [7, 8])
        XCTAssertEqual(try list("q"), [])
        XCTAssertEqual(try batch(3), [])
    }

    func testScriptPopThatRanBeforeTheReplyWasLostComesToTheWorkerWhileTheServerLoads() throws {
        try push(Array(1...5))
        let refusedBefore = try loadingRefusals()
        // A new connector's first pop goes through the Lua script (recovered tasks may wait);
        // the connection resends it after the lost reply, into the loading server.
        failing.onLoss = { [unowned self] in try? startLoading() }
        failing.next = .afterSending(unreachableFor: 0)
        let (served, failures) = popUntilServed()
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertGreaterThan(try loadingRefusals(), refusedBefore, "the connector met the loading server")
        XCTAssertEqual(served, [1, 2, 3], "the batch the script moved, not lost (pop errors: \(failures))")
        XCTAssertEqual(try list("q.processing.w"), [1, 2, 3])
        XCTAssertEqual(try batch(3), [4, 5])
    }

    func testCommandsWaitUntilTheServerHasLoaded() throws {
        try startLoading()
        // Refused unrun while loading: the push goes in once the server has loaded, not fails.
        try push([1])
        XCTAssertEqual(try list("q"), [1])
        XCTAssertGreaterThan(try loadingRefusals(), 0)
    }

    func testBlockingWaitWhoseResentMoveTimedOutStillServesTheFirstMovesTask() throws {
        _ = try inspector.command("CONFIG", "SET", "key-load-delay", "0")
        try push([9])
        // BLMOVE moves task 9 into the (empty) in-flight list; its reply is lost; the resent
        // BLMOVE finds the queue empty and times out. Task 9 is this worker's all the same.
        failing.next = .afterSending(unreachableFor: 0)
        let items = try connector.waitForItems(KeySpace(queue: "q"), timeout: 0.2, inFlightFor: "w")
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertEqual(items, [[9]], "the task the first BLMOVE moved")
        XCTAssertEqual(try list("q.processing.w"), [9])
    }
}

// MARK: - RawConnection

/// One plain connection that sends a command and returns its reply as the server gave it: no
/// reconnects, no waiting out a loading server (what ``RedisConnection`` does).
final class RawConnection {
    private let stream: any RedisStream
    private let reader = RedisReplyReader()

    init(node: RedisNode) throws {
        stream = try TCPTransport().connect(to: node)
    }

    func command(_ words: String...) throws -> RedisReply {
        var request = RequestBuffer()
        request.append(words)
        try stream.write(request.bytes)
        return try reader.next(from: stream)
    }
}
