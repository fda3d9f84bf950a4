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

    func testHostTableIsABI11WithLogWithMetadataAtTheEnd() {
        let context = ConfigurationHost(logger: logger)
        let table = withExtendedLifetime(context) { context.api.pointee }
        XCTAssertEqual(table.abi_version, 1 << 16 | 1)
        XCTAssertEqual(table.size, 168, "the 1.0 table (160 bytes) and one function")
        XCTAssertEqual(ABITable.hostTableSize10, 160)
        XCTAssertEqual(ABITable.workerTableSize10, 144)
        XCTAssertNotNil(table.log_with_metadata)
        XCTAssertEqual(MemoryLayout<sergeant_host_api>.offset(of: \.log_with_metadata), 160)
    }

    func testWorkerFromTheFutureLoadsAndRunsInTodaysHost() throws {
        let module = try PluginModule(path: try ProjectPaths.fixture("libfuture_worker.so"))
        XCTAssertEqual(ABIVersion.string(module.abiVersion), "1.99")
        let worker = try module.makeWorker(className: "FutureWorker", host: host(queue: "future_worker"))
        XCTAssertEqual(try worker.config().name, "future_worker")
        let result = worker.work(SergeantTask(kwargs: ["please": "push"]).messagePack())
        XCTAssertEqual(result.outcome, .success, result.message)
        // The plugin reports the room the host preset and what it wrote: its 656-byte table
        // was cut to the host's 144 bytes.
        XCTAssertEqual(try MessagePack.decode(result.value), [144, 144])
        XCTAssertEqual(try server.command("LLEN", "future_child"), ":1", "push_tasks went through the host")
        XCTAssertEqual(worker.handle(.retry, SergeantTask().messagePack()).outcome, .success)
    }

    func testWorkerBuiltAgainstTheFrozen10HeaderWorksInThe11Host() throws {
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
