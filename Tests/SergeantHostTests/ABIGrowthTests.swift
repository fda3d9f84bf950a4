import Logging
import SergeantTestSupport
import XCTest
import SergeantABI
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore
@testable import SergeantHost
@testable import SergeantPluginLoader

/// The ABI's growth rule in-process: plugins built for a newer minor (1.99) and for the
/// frozen 1.0 header, loaded with dlopen into today's host and driven through their tables.
final class ABIGrowthTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func host(queue: String) -> HostContext {
        let broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
        return HostContext(config: WorkerConfig(name: queue), broker: broker, logger: logger)
    }

    func testHostTableIsABI12WithLogWithMetadataAtTheEnd() {
        let context = ConfigurationHost(logger: logger)
        let table = withExtendedLifetime(context) { context.api.pointee }
        XCTAssertEqual(table.abi_version, 1 << 16 | 2)
        XCTAssertEqual(table.size, 168, "the 1.0 table (160 bytes) and one function")
        XCTAssertEqual(ABITable.hostTableSize10, 160)
        XCTAssertEqual(ABITable.workerTableSize10, 144)
        XCTAssertNotNil(table.log_with_metadata)
        XCTAssertEqual(MemoryLayout<sergeant_host_api>.offset(of: \.log_with_metadata), 160)
        // 1.2 appends the async entries to the worker table.
        XCTAssertEqual(MemoryLayout<sergeant_worker_api>.offset(of: \.work_async), 144)
        XCTAssertEqual(MemoryLayout<sergeant_worker_api>.offset(of: \.cancel), 152)
        XCTAssertEqual(ABITable.compiledSize(sergeant_worker_api.self), 160)
    }

    func testOnlyPluginsThatFillTheAsyncEntriesRunAsynchronously() throws {
        let asyncWorker = try PluginModule(path: try ProjectPaths.fixture("libasync_c_worker.so"))
            .makeWorker(className: "AsyncCWorker", host: host(queue: "async_c_worker"))
        XCTAssertTrue(asyncWorker.supportsAsyncWork)
        let legacy = try PluginModule(path: try ProjectPaths.fixture("liblegacy_worker.so"))
            .makeWorker(className: "LegacyWorker", host: host(queue: "legacy_worker"))
        XCTAssertFalse(legacy.supportsAsyncWork, "a 1.0 table ends before work_async")
        let sync = try PluginModule(path: try ProjectPaths.fixture("libc_worker.so"))
            .makeWorker(className: "CWorker", host: host(queue: "c_worker"))
        XCTAssertFalse(sync.supportsAsyncWork, "a table of today's size with NULL entries")
    }

    func testWorkerFromTheFutureLoadsAndRunsInTodaysHost() throws {
        let module = try PluginModule(path: try ProjectPaths.fixture("libfuture_worker.so"))
        XCTAssertEqual(ABIVersion.string(module.abiVersion), "1.99")
        let worker = try module.makeWorker(className: "FutureWorker", host: host(queue: "future_worker"))
        XCTAssertEqual(try worker.config().name, "future_worker")
        let result = worker.work(SergeantTask(kwargs: ["please": "push"]).messagePack())
        XCTAssertEqual(result.outcome, .success, result.message)
        // The plugin reports the room the host preset and what it wrote: its 672-byte table
        // was cut to the host's 160 bytes.
        XCTAssertEqual(try MessagePack.decode(result.value), [160, 160])
        XCTAssertEqual(try server.command("LLEN", "future_child"), ":1", "push_tasks went through the host")
        XCTAssertEqual(worker.handle(.retry, SergeantTask().messagePack()).outcome, .success)
    }

    func testWorkerBuiltAgainstTheFrozen10HeaderWorksInThe12Host() throws {
        let module = try PluginModule(path: try ProjectPaths.fixture("liblegacy_worker.so"))
        XCTAssertEqual(ABIVersion.string(module.abiVersion), "1.0")
        let worker = try module.makeWorker(className: "LegacyWorker", host: host(queue: "legacy_worker"))
        XCTAssertEqual(try worker.config().name, "legacy_worker")
        let result = worker.work(SergeantTask(kwargs: ["n": 1]).messagePack())
        XCTAssertEqual(result.outcome, .success, result.message)
        XCTAssertEqual(try server.command("LLEN", "legacy_child"), ":1")
    }

    func testUnknownClassOfTheFutureWorkerIsReported() throws {
        let module = try PluginModule(path: try ProjectPaths.fixture("libfuture_worker.so"))
        XCTAssertThrowsError(try module.makeWorker(className: "Nope", host: host(queue: "future_worker"))) { error in
            XCTAssertEqual((error as? PluginError)?.kind, .classNotFound)
        }
    }
}
