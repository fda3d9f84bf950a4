import Logging
import SergeantCore

// MARK: - ConnectorContext

/// What a connector factory gets beside the configuration.
public struct ConnectorContext: Sendable {
    /// The logger of the connector's connections.
    public var logger: Logger
    /// Seconds a lost server is retried before an operation fails.
    public var reconnectTimeout: Double

    /// Creates a context.
    public init(logger: Logger, reconnectTimeout: Double = 30) {
        self.logger = logger
        self.reconnectTimeout = reconnectTimeout
    }
}

// MARK: - ConnectorRegistry

/// The connectors a configuration's `connector.type` can name. Adding a connector is adding
/// its files plus one line in ``builtIn`` (or one ``register(_:_:)`` call from an
/// application): nothing else switches over connector types.
///
/// ```swift
/// ConnectorRegistry.register("memory") { config, context throws(BrokerError) in MemoryConnector() }
/// let connector = try ConnectorRegistry.connector(for: config.connector, context: ConnectorContext(logger: logger))
/// ```
public enum ConnectorRegistry {
    /// Makes a connector from its configuration; throws a clear message when the
    /// configuration does not describe a usable connector.
    public typealias Factory = @Sendable (ConnectorConfig, ConnectorContext) throws(BrokerError) -> any QueueConnector

    /// The connectors this package has.
    static let builtIn: [ConnectorConfig.Kind: Factory] = [
        .redis: RedisConnector.make,
        .local: LocalConnector.make,
    ]

    private static let lock = Mutex()
    nonisolated(unsafe) private static var added: [ConnectorConfig.Kind: Factory] = [:]

    /// Adds (or replaces) the connector of `kind`.
    public static func register(_ kind: ConnectorConfig.Kind, _ factory: @escaping Factory) {
        lock.withLock { added[kind] = factory }
    }

    /// The connector `config` names.
    public static func connector(for config: ConnectorConfig, context: ConnectorContext) throws(BrokerError) -> any QueueConnector {
        let factory = lock.withLock { added[config.type] ?? builtIn[config.type] }
        guard let factory else {
            let known = lock.withLock { Set(builtIn.keys).union(added.keys) }.map(\.rawValue).sorted()
            throw BrokerError("the connector type '\(config.type)' is unknown; this sergeant has: \(known.joined(separator: ", "))")
        }
        return try factory(config, context)
    }
}
