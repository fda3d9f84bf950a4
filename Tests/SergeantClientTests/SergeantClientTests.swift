import Foundation
import Logging
import SergeantBroker
import SergeantClient
import SergeantCore
import SergeantTestSupport
import XCTest

/// The client against a real redis-server (one per test) and a real SQLite file.
final class SergeantClientTests: XCTestCase {
    var server: RedisServer!
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    override func setUpWithError() throws {
        try super.setUpWithError()
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
        super.tearDown()
    }

    func client(_ options: SergeantClient.Options? = nil) throws -> SergeantClient {
        try SergeantClient(url: server.url, options: options ?? SergeantClient.Options(logger: logger))
    }

    /// A broker on the same server, as a worker has.
    func workerBroker(encoder: EncoderConfig = EncoderConfig()) throws -> Broker {
        try Broker(config: WorkerConfig(name: "q", connector: .redis(nodes: [server.node]), encoder: encoder), logger: logger)
    }

    /// Pops every task of `queue`, polling until `expected` came or the deadline passed.
    func popAll(_ broker: Broker, queue: String, expected: Int, timeout: Double = 10) throws -> [SergeantTask] {
        var tasks: [SergeantTask] = []
        let deadline = Date().addingTimeInterval(timeout)
        while tasks.count < expected && Date() < deadline {
            let popped = try broker.pop(queue: queue, count: 1_000)
            XCTAssertEqual(popped.rejected, [])
            tasks += try popped.tasks.map { try SergeantTask(messagePack: $0.messagePack) }
        }
        return tasks
    }

    /// `calls` of a command in the server's INFO commandstats.
    func commandCalls(_ command: String) throws -> Int {
        let connection = RedisConnection(node: server.node, logger: logger, reconnectTimeout: 5)
        guard case .bytes(let bytes) = try connection.command("INFO", "commandstats") else {
            XCTFail("INFO commandstats gave no text")
            return -1
        }
        let prefix = "cmdstat_\(command):calls="
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            return Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? -1
        }
        return 0
    }

    // MARK: Tests

    func testPushCountPurgeRoundTrip() async throws {
        let queue = try client().queue("q")
        try await queue.push(kwargs: ["n": 1] as ValueMap)
        try await queue.push(kwargs: ["n": 2] as ValueMap, priority: .high, traceID: "trace-2")
        try await queue.push(kwargs: ["n": 3] as ValueMap, delay: 3_600)
        try await queue.push(kwargs: ["n": 4] as ValueMap, consumableFrom: Date().timeIntervalSince1970 + 3_600)
        let queued = try await queue.count()
        let all = try await queue.count(includeDelayed: true)
        XCTAssertEqual(queued, 2)
        XCTAssertEqual(all, 4)
        let tasks = try popAll(try workerBroker(), queue: "q", expected: 2)
        XCTAssertEqual(tasks.map { $0.kwargs["n"] }, [2, 1], "the high priority task comes first")
        XCTAssertEqual(tasks.map(\.traceID), ["trace-2", nil])
        let purged = try await queue.purge()
        XCTAssertTrue(purged)
        let left = try await queue.count(includeDelayed: true)
        XCTAssertEqual(left, 0)
    }

    func testConcurrentPushesShareRoundTrips() async throws {
        let client = try client()
        let queue = client.queue("q")
        let pushes = 2_000
        let before = try commandCalls("rpush")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<pushes {
                group.addTask { try await queue.push(kwargs: ["n": .int(Int64(number))] as ValueMap) }
            }
            try await group.waitForAll()
        }
        let rpushCalls = try commandCalls("rpush") - before
        // Every push returned only once stored: the queue holds them all already.
        let stored = try await queue.count()
        XCTAssertEqual(stored, pushes)
        let numbers = try popAll(try workerBroker(), queue: "q", expected: pushes).compactMap { $0.kwargs["n"]?.intValue }
        XCTAssertEqual(numbers.count, pushes)
        XCTAssertEqual(Set(numbers), Set(0..<pushes), "every task stored exactly once")
        print("SergeantClientTests: \(pushes) concurrent pushes took \(rpushCalls) RPUSH calls"
            + " (client round trips: \(client.pushRoundTrips))")
        XCTAssertGreaterThan(rpushCalls, 0)
        XCTAssertLessThan(rpushCalls, pushes / 10, "concurrent pushes share round trips")
        XCTAssertEqual(client.pushRoundTrips, rpushCalls)
    }

    func testPushToDeadRedisThrowsBrokerError() async throws {
        let port = try freePort()
        let client = try SergeantClient(url: "redis://127.0.0.1:\(port)/0",
                                        options: SergeantClient.Options(reconnectTimeout: 0.3, logger: logger))
        let started = Date()
        do {
            try await client.queue("q").push(kwargs: ["n": 1] as ValueMap)
            XCTFail("a push to a dead redis succeeded")
        } catch {
            guard case .broker(let failure) = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertTrue(failure.message.contains("unreachable"), failure.message)
            XCTAssertTrue(failure.message.contains("127.0.0.1:\(port)"), failure.message)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        // Concurrent pushes in one failed round trip all get its error.
        let failures = await withTaskGroup(of: Bool.self) { group in
            for number in 0..<20 {
                group.addTask {
                    do throws(SergeantClientError) {
                        try await client.queue("q").push(kwargs: ["n": .int(Int64(number))] as ValueMap)
                    } catch {
                        if case .broker = error { return true }
                    }
                    return false
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        XCTAssertEqual(failures, 20)
    }

    func testPushWaitsForRedisToComeBack() async throws {
        let client = try client(SergeantClient.Options(reconnectTimeout: 20, logger: logger))
        let queue = client.queue("q")
        try await queue.push(kwargs: ["n": 1] as ValueMap)
        server.kill()
        // The client's connection is dead now: these pushes retry with backoff until the
        // server is back on the same port.
        let pending = Task { try await queue.push(many: [["n": 2], ["n": 3]] as [ValueMap]) }
        try server.start()
        try await pending.value
        let count = try await queue.count()
        XCTAssertEqual(count, 2, "the server came back empty (no persistence), with the two pushed since")
        // A restarted server may take its whole SIGTERM grace period at teardown: no data to keep.
        server.kill()
    }

    struct Resize: Codable, Equatable, Sendable {
        var sourcePath: String
        var targetWidth: Int
        var tags: [String]
        var ratio: Double?
    }

    func testEncodableKwargsDecodeBack() async throws {
        let client = try client(SergeantClient.Options(keyEncodingStrategy: .convertToSnakeCase, logger: logger))
        let sent = [Resize(sourcePath: "https://example.com/a.png", targetWidth: 64, tags: ["a", "b"], ratio: 1.5),
                    Resize(sourcePath: "b.png", targetWidth: 8, tags: [], ratio: nil)]
        try await client.queue("q").push(kwargs: sent[0])
        try await client.queue("q").push(many: [sent[1]])
        let tasks = try popAll(try workerBroker(), queue: "q", expected: 2)
        XCTAssertEqual(tasks.first?.kwargs.keys, ["source_path", "target_width", "tags", "ratio"])
        let decoder = ValueDecoder(keyDecodingStrategy: .convertFromSnakeCase)
        let received = try tasks.map { try decoder.decode(Resize.self, from: .map($0.kwargs)) }
        XCTAssertEqual(received, sent)
    }

    func testCompressedTasksAsTheWorkerReadsThem() async throws {
        let encoder = EncoderConfig(compressor: .gzip)
        let client = try client(SergeantClient.Options(encoder: encoder, logger: logger))
        try await client.queue("q").push(kwargs: ["text": .string(String(repeating: "sergeant ", count: 100))] as ValueMap)
        let raw = try workerBroker().peek(queue: "q", count: 1)
        XCTAssertEqual(raw.first.map { Array($0.prefix(2)) }, [0x1f, 0x8b], "stored gzip-compressed")
        let tasks = try popAll(try workerBroker(encoder: encoder), queue: "q", expected: 1)
        XCTAssertEqual(tasks.first?.kwargs["text"]?.stringValue?.count, 900)
    }

    func testRefusals() async throws {
        let client = try client(SergeantClient.Options(maxTaskSize: 100, logger: logger))
        do {
            try await client.queue("q").push(kwargs: ["blob": .bytes(Array(repeating: 7, count: 200))] as ValueMap)
            XCTFail("a task over max_task_size was pushed")
        } catch {
            guard case .taskTooLarge(let size, 100) = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertGreaterThan(size, 200)
        }
        do {
            try await client.queue("q").push(kwargs: [1, 2, 3])
            XCTFail("an array was pushed as kwargs")
        } catch {
            guard case .encoding = error else { return XCTFail("unexpected error \(error)") }
        }
        XCTAssertThrowsError(try SergeantClient(url: "http://example.com")) { error in
            guard case .invalidURL = error as? SergeantClientError else { return XCTFail("unexpected error \(error)") }
        }
        XCTAssertThrowsError(try SergeantClient(url: "redis://host:notaport/0"))
        let count = try await client.queue("q").count(includeDelayed: true)
        XCTAssertEqual(count, 0)
        client.close()
        do {
            try await client.queue("q").push(kwargs: ["n": 1] as ValueMap)
            XCTFail("a closed client pushed")
        } catch {
            guard case .closed = error else { return XCTFail("unexpected error \(error)") }
        }
    }

    func testBlockingFormFromThreads() throws {
        let client = try client()
        let queue = client.queue("q").blocking
        let threads = 8
        let perThread = 50
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for number in 0..<perThread {
                do throws(SergeantClientError) {
                    try queue.push(kwargs: ["n": .int(Int64(thread * perThread + number))] as ValueMap)
                } catch {
                    XCTFail("blocking push failed: \(error)")
                }
            }
        }
        try queue.push(many: [Resize(sourcePath: "x", targetWidth: 1, tags: [], ratio: nil)], priority: .high)
        XCTAssertEqual(try queue.count(), threads * perThread + 1)
        let numbers = try popAll(try workerBroker(), queue: "q", expected: threads * perThread + 1).compactMap { $0.kwargs["n"]?.intValue }
        XCTAssertEqual(Set(numbers), Set(0..<threads * perThread))
        XCTAssertFalse(try queue.purge())
    }

    struct Thumbnail: Codable, Sendable { var sourcePath: String; var width: Int }

    /// The README's example, as written there.
    func testReadmeExample() async throws {
        let client = try SergeantClient(url: server.url,
                                        options: .init(reconnectTimeout: 10, keyEncodingStrategy: .convertToSnakeCase, logger: logger))
        let queue = client.queue("test_worker")
        try await queue.push(kwargs: Thumbnail(sourcePath: "a.png", width: 64))
        try await queue.push(kwargs: ["some_parameter": "one"], priority: .high, delay: 30, traceID: "order-42")
        try await queue.push(many: [Thumbnail(sourcePath: "b.png", width: 8), Thumbnail(sourcePath: "c.png", width: 8)])
        let count = try await queue.count(includeDelayed: true)
        XCTAssertEqual(count, 4)
        let tasks = try popAll(try workerBroker(), queue: "test_worker", expected: 3)
        XCTAssertEqual(tasks.map { $0.kwargs["source_path"]?.stringValue }, ["a.png", "b.png", "c.png"])
    }

    func testLocalSQLiteFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("queue.sqlite3").path
        let client = try SergeantClient(url: "sqlite://" + path, options: SergeantClient.Options(logger: logger))
        XCTAssertEqual(client.location, .local(filePath: path))
        let queue = client.queue("q")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<200 {
                group.addTask { try await queue.push(kwargs: ["n": .int(Int64(number))] as ValueMap) }
            }
            try await group.waitForAll()
        }
        try await queue.push(kwargs: ["n": -1] as ValueMap, delay: 3_600)
        let queued = try await queue.count()
        let all = try await queue.count(includeDelayed: true)
        XCTAssertEqual(queued, 200)
        XCTAssertEqual(all, 201)
        let worker = try Broker(config: WorkerConfig(name: "q", connector: .local(filePath: path)), logger: logger)
        let numbers = try popAll(worker, queue: "q", expected: 200).compactMap { $0.kwargs["n"]?.intValue }
        XCTAssertEqual(Set(numbers), Set(0..<200))
        let purged = try await queue.purge()
        XCTAssertTrue(purged)
    }
}
