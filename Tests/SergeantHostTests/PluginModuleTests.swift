import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore
@testable import SergeantHost

/// The plugin boundary in-process: the consumer example, built as its own package, loaded
/// with dlopen and driven through its C function table.
final class PluginModuleTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    func testConsumerPluginReportsTheSeedsConfiguration() throws {
        let module = try PluginModule(path: try ProjectPaths.plugin("consumer"))
        XCTAssertEqual(module.abiVersion >> 16, 1)
        let host = HostContext(config: WorkerConfig(name: "probe"), broker: nil, logger: logger)
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
        let host = HostContext(config: WorkerConfig(name: "probe"), broker: nil, logger: logger)
        XCTAssertThrowsError(try module.makeWorker(className: "Missing", host: host)) { error in
            let error = error as! PluginError
            XCTAssertEqual(error.kind, .classNotFound)
            XCTAssertTrue(error.message.contains("it exports: Worker"), error.message)
        }
    }

    func testWorkRunsAndBrokerCallsGoThroughTheHost() throws {
        let server = try RedisServer()
        let module = try PluginModule(path: try ProjectPaths.fixture("libc_worker.so"))
        let broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
        let host = HostContext(config: WorkerConfig(name: "c_worker"), broker: broker, logger: logger)
        let worker = try module.makeWorker(className: "CWorker", host: host)
        let ok = worker.work(SergeantTask(kwargs: ["n": 1]).messagePack())
        XCTAssertEqual(ok.status, .ok)
        let failed = worker.work(SergeantTask(kwargs: ["x": "fail"]).messagePack())
        XCTAssertEqual(failed.status, .failure)
        XCTAssertEqual(failed.message, "the C worker was asked to fail")
        // A handler the plugin does not provide is a handler that does nothing.
        XCTAssertEqual(worker.on(.retry, SergeantTask().messagePack()).status, .ok)
    }

    func testOutcomeDispatchFollowsAHandlerThatRetries() throws {
        XCTAssertEqual(TaskOutcome(PluginWorker.Result(status: .failure, message: "boom", value: [])), .failure("boom"))
        XCTAssertEqual(TaskOutcome(PluginWorker.Result(status: .retry, message: "", value: [])), .retry)
        XCTAssertEqual(TaskOutcome(PluginWorker.Result(status: .invalid, message: "", value: [])), .failure("status invalid"))
    }
}
