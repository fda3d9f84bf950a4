import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// A pop whose reply was lost when redis-server restarted, followed by a server that is still
/// loading its append-only file (`-LOADING` to every data command), against a real
/// redis-server: the batch the pop moved must come to the worker, never be acknowledged
/// unseen. This is how a Redis chaos run lost one batch of 10 (issue 15): the check "did the
/// pop run?" read the `-LOADING` refusal of its `GET` as "no", and the pop sent again deleted
/// the batch.
///
/// The loading is made long enough to meet for sure: the server's append-only file holds
/// ``fillerKeys`` writes and `key-load-delay` slows the load of each; a test restarts the
/// server without waiting for it and goes on once a connection of its own met `-LOADING`.
final class RedisLoadingTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }
    var server: RedisServer!
    var connector: RedisConnector! {
        didSet { if let connector { failing = FailingTransport.install(on: connector.connections[0]) } }
    }
    /// The transport of the connector's connection: arm it to lose the next round trip.
    var failing: FailingTransport!
    var inspector: RedisConnection!
    /// Writes in the append-only file, each loaded in at least `key-load-delay` µs.
    let fillerKeys = 10_000

    override func setUpWithError() throws {
        server = try RedisServer(options: RedisServer.Options(appendOnly: true, rewritesAppendOnlyFile: false,
                                                              extraArguments: ["--key-load-delay", "200"]))
        connector = RedisConnector(nodes: [server.node], logger: logger)
        inspector = RedisConnection(node: server.node, logger: logger)
        _ = try inspector.pipeline((0..<fillerKeys).map { [Array("SET".utf8), Array("filler\($0)".utf8), Array("x".utf8)] })
    }

    override func tearDownWithError() throws {
        // A load still running ends before the server goes.
        if let server { try waitUntil(timeout: 60, "the load to end") { !Self.isLoading(server) } }
        connector = nil
        failing = nil
        inspector = nil
        server = nil
    }

    // MARK: Helpers

    /// True when a new connection to `server` meets `-LOADING`.
    static func isLoading(_ server: RedisServer) -> Bool {
        guard let reply = try? RawConnection(node: server.node).command("GET", "probe") else { return false }
        return RedisConnection.isLoadingRefusal(reply)
    }

    /// Restarts the server (SIGTERM: it writes everything first) and returns once it refuses
    /// commands with `-LOADING` (for seconds from then).
    func restartIntoLoading() throws {
        XCTAssertTrue(server.stop(), "redis-server stopped on SIGTERM")
        try server.start(waitsUntilReady: false)
        try waitUntil(timeout: 20, "the server to load") { Self.isLoading(server) }
    }

    /// ``restartIntoLoading()`` for a hook that cannot throw.
    func restartIntoLoadingOrFail() {
        do { try restartIntoLoading() } catch { XCTFail("the server did not restart into loading: \(error)") }
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
    /// times: the tasks served, and the errors of the pops that failed.
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
        // The transaction runs (it acknowledges 4, 5, 6 and moves 7, 8); its reply is lost,
        // and the server restarts: the connector reconnects to a server that is loading.
        failing.onLoss = { [unowned self] in restartIntoLoadingOrFail() }
        failing.next = .afterSending(unreachableFor: 0)
        let (served, failures) = popUntilServed()
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertEqual(served, [7, 8], "the batch the lost transaction moved, not lost (pop errors: \(failures))")
        XCTAssertEqual(try list("q.processing.w"), [7, 8])
        XCTAssertEqual(try list("q"), [])
        XCTAssertEqual(try batch(3), [])
    }

    func testScriptPopThatRanBeforeTheReplyWasLostComesToTheWorkerWhileTheServerLoads() throws {
        try push(Array(1...5))
        // A new connector's first pop goes through the Lua script (recovered tasks may
        // wait); an empty queue's pop loads it first, so that the lost write is the call.
        _ = try connector.pop(KeySpace(queue: "empty"), count: 3, inFlightFor: "w")
        // The connection resends the call after the lost reply, into the loading server.
        failing.onLoss = { [unowned self] in restartIntoLoadingOrFail() }
        failing.next = .afterSending(unreachableFor: 0)
        let (served, failures) = popUntilServed()
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertEqual(served, [1, 2, 3], "the batch the script moved, not lost (pop errors: \(failures))")
        XCTAssertEqual(try list("q.processing.w"), [1, 2, 3])
        XCTAssertEqual(try batch(3), [4, 5])
    }

    func testCommandsWaitUntilTheServerHasLoaded() throws {
        try push([1])
        try restartIntoLoading()
        // Refused unrun while loading: the push goes in once the server has loaded, not fails.
        try push([2])
        XCTAssertEqual(try list("q"), [1, 2])
    }

    func testCountersThatALoadingServerRefusedGoWithTheNextRoundTrip() throws {
        try push([1])
        try restartIntoLoading()
        var counts = OutcomeCounts()
        counts.succeeded = 3
        connector.stage(counts, KeySpace(queue: "q"), at: unixTime())
        // The counters ride ahead of the push; the loading server refuses both, unrun.
        try push([2])
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "succeeded"), .bytes(Array("3".utf8)),
                       "the counters went again with the push, once")
        XCTAssertEqual(try list("q"), [1, 2])
    }

    func testBlockingWaitWhoseResentMoveTimedOutStillServesTheFirstMovesTask() throws {
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
        stream = try TCPTransport(connectTimeout: 5, ioTimeout: 10).connect(to: node)
    }

    func command(_ words: String...) throws -> RedisReply {
        var request = RequestBuffer()
        request.append(words)
        try stream.write(request.bytes)
        return try reader.next(from: stream)
    }
}
