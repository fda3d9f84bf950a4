import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore
import SergeantCompression

/// A connector type is a name and one registration; optional abilities are declared by
/// conformance and read back as capabilities.
final class ConnectorRegistryTests: XCTestCase {
    let context = ConnectorContext(logger: Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) })

    func testAnUnknownTypeNamesTheKnownOnes() {
        XCTAssertThrowsError(try ConnectorRegistry.connector(for: ConnectorConfig(type: "mongo", params: .init()), context: context)) { error in
            XCTAssertTrue("\(error)".contains("the connector type 'mongo' is unknown; this sergeant has: local, redis"), "\(error)")
        }
    }

    func testARedisConnectorWithoutNodesIsRefusedWithWhatToDo() {
        XCTAssertThrowsError(try ConnectorRegistry.connector(for: ConnectorConfig(type: .redis, params: .init(nodes: [])), context: context)) { error in
            XCTAssertTrue("\(error)".contains("the redis connector has no nodes"), "\(error)")
        }
    }

    func testARegisteredTypeIsMadeFromItsConfiguration() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-registry-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        ConnectorRegistry.register("sqlite-here") { config, _ throws(BrokerError) in
            try LocalConnector(filePath: (config.params.filePath ?? "") + "/queue.sqlite3")
        }
        let config = try ValueDecoder().decode(ConnectorConfig.self, from: try Value(json: #"{"type": "sqlite-here", "params": {"file_path": "\#(directory.path)"}}"#))
        let connector = try ConnectorRegistry.connector(for: config, context: context)
        XCTAssertEqual((connector as? LocalConnector)?.filePath, directory.path + "/queue.sqlite3")
    }

    func testCapabilitiesAreWhatTheConnectorDeclares() throws {
        let server = try RedisServer()
        XCTAssertEqual(ConnectorCapabilities(of: RedisConnector(nodes: [server.node], logger: context.logger)), [.inFlightRecords, .blockingWait, .incrementalInFlight, .fleetRecords])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-capabilities-\(getpid()).sqlite3").path
        defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
        let local = try LocalConnector(filePath: path)
        XCTAssertEqual(ConnectorCapabilities(of: local), [.inFlightRecords, .incrementalInFlight])
        XCTAssertEqual(ConnectorCapabilities(of: local).description, "in-flight records, tasks acknowledged one by one")
        XCTAssertEqual(ConnectorCapabilities(of: RedisConnector(nodes: [server.node], logger: context.logger)).description,
                       "in-flight records, blocking wait, tasks acknowledged one by one, fleet records")
        // A pop for a worker records its task in flight; without a blocking wait, a short pause.
        let broker = Broker(connector: local, encoder: TaskEncoder())
        try broker.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
        XCTAssertEqual(try broker.pop(queue: "q", count: 5, inFlightFor: "w").tasks.count, 1)
        XCTAssertEqual(try local.inFlightItems(queue: "q").map(\.worker), ["w"])
        XCTAssertEqual(try broker.wait(queue: "q", timeout: 1, inFlightFor: "w").tasks.count, 0)
    }
}
