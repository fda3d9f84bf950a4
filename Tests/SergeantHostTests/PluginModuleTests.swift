import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore
@testable import SergeantHost
@testable import SergeantPluginLoader

/// The plugin boundary in-process: the consumer example, built as its own package, loaded
/// with dlopen and driven through its C function table.
final class PluginModuleTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    func testConsumerPluginReportsTheSeedsConfiguration() throws {
        let module = try PluginModule(path: try ProjectPaths.plugin("consumer"))
        XCTAssertEqual(module.abiVersion >> 16, 1)
        let host = ConfigurationHost(logger: logger)
        let config = try module.makeWorker(className: "Worker", host: host).config()
        XCTAssertEqual(config.name, "test_worker")
        XCTAssertEqual(config.connector.type, .redis)
        XCTAssertEqual(config.connector.params.nodes, [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)])
        XCTAssertEqual(config.logging.level, .info)
        XCTAssertTrue(config.logging.logToStdout)
        // The qualified name resolves too.
        XCTAssertNoThrow(try module.makeWorker(className: "Consumer.Worker", host: host))
    }

    func testUnknownClassListsExports() throws {
        let module = try PluginModule(path: try ProjectPaths.plugin("consumer"))
        let host = ConfigurationHost(logger: logger)
        XCTAssertThrowsError(try module.makeWorker(className: "Missing", host: host)) { error in
            let error = error as! PluginError
            XCTAssertEqual(error.kind, .classNotFound)
            XCTAssertTrue(error.message.contains("it exports: Worker"), error.message)
        }
    }

    func testWorkRunsAndBrokerCallsGoThroughTheHost() throws {
        let server = try RedisServer()
        let inspector = RedisConnection(node: server.node, logger: logger)
        let module = try PluginModule(path: try ProjectPaths.fixture("libc_worker.so"))
        let broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
        let host = HostContext(config: WorkerConfig(name: "c_worker"), broker: broker, logger: logger)
        let worker = try module.makeWorker(className: "CWorker", host: host)
        let ok = worker.work(SergeantTask(kwargs: ["n": 1]).messagePack())
        XCTAssertEqual(ok.outcome, .success)
        let failed = worker.work(SergeantTask(kwargs: ["x": "fail"]).messagePack())
        XCTAssertEqual(failed.outcome, .failure)
        XCTAssertEqual(failed.message, "the C worker was asked to fail")
        // The C worker pushes, counts and sets a key through the host's table, on the host's
        // connection to this Redis.
        XCTAssertEqual(worker.work(SergeantTask(kwargs: ["x": "push"]).messagePack()).outcome, .success)
        guard case .array(let side) = try inspector.command("LRANGE", "c_side", "0", "-1"), case .bytes(let pushed)? = side.first else {
            return XCTFail("the C worker's push did not reach Redis")
        }
        XCTAssertEqual(side.count, 1)
        XCTAssertEqual(try TaskEncoder().decode(pushed).kwargs, ["from": "c"])
        XCTAssertEqual(try inspector.command("GET", "c_count"), .bytes([0x01]), "the count it read through the host")
        // A handler the plugin does not provide is a handler that does nothing.
        XCTAssertEqual(worker.handle(.retry, SergeantTask().messagePack()).outcome, .success)
    }

    func testOutcomeDispatchFollowsAHandlerThatRetries() throws {
        // The parity worker's on_failure retries a "fail_then_retry" task (max_retries 2):
        // the dispatcher must follow that handler to a retry, and the task must be back in
        // the queue with run_count + 1.
        let server = try RedisServer()
        let module = try PluginModule(path: try ProjectPaths.fixturePackage("parity"))
        let config = try module.makeWorker(className: "Parity", host: ConfigurationHost(logger: logger)).config()
        let broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
        let host = HostContext(config: config, broker: broker, logger: logger)
        let worker = try module.makeWorker(className: "Parity", host: host)
        let dispatcher = OutcomeDispatcher(worker: worker, events: config.logging.events, logger: logger,
                                           deadlines: host.deadlines, timeouts: config.timeouts)
        let task = SergeantTask(kwargs: ["action": "fail_then_retry"]).messagePack()
        XCTAssertEqual(dispatcher.execute(PoppedTask(messagePack: task, stored: task)), .retry,
                       "work failed, and its on_failure retried")
        let (popped, _) = try broker.pop(queue: config.name, count: 10)
        XCTAssertEqual(popped.count, 1, "the retried task is queued again")
        let retried = try SergeantTask(messagePack: popped.first?.messagePack ?? [])
        XCTAssertEqual(retried.runCount, 1)
        XCTAssertEqual(retried.kwargs["action"], "fail_then_retry")
        // At max_retries the same handler's retry becomes max retries.
        var last = SergeantTask(kwargs: ["action": "fail_then_retry"])
        last.runCount = 2
        XCTAssertEqual(dispatcher.execute(PoppedTask(messagePack: last.messagePack(), stored: [])), .maxRetries)
        XCTAssertEqual(try broker.count(queue: config.name, includeDelayed: true), 0)
    }

    /// A module being copied over its path is shorter than its ELF headers say; dlopen would
    /// die of SIGBUS on it, the loader refuses it with the reason.
    func testAModuleCutShortIsRefusedBeforeDlopen() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libcrashing_worker.so")))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-cut-\(UUID().uuidString).so").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for length in [100, whole.count / 2, whole.count - 1] {
            try whole.prefix(length).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try PluginModule(path: path), "\(length) bytes") { error in
                let error = error as! PluginError
                XCTAssertEqual(error.kind, .moduleNotLoadable)
                XCTAssertTrue(error.message.contains("is cut short: \(length) bytes, where its ELF headers describe \(whole.count)"), error.message)
            }
        }
        try whole.write(to: URL(fileURLWithPath: path))
        XCTAssertNoThrow(try PluginModule(path: path))
    }
}
