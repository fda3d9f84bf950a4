#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - WorkerConfig

/// A worker's configuration, field for field Python sergeant's `WorkerConfig`.
///
/// It crosses the plugin boundary as a map with sergeant's snake_case field names (msgpack
/// of its ``ValueEncoder`` value from Swift plugins, JSON from plugins in other languages);
/// every field but `name` may be left out and takes sergeant's default.
public struct WorkerConfig: Codable, Sendable, Hashable {
    /// The worker's name, which is also its queue's name.
    public var name: String
    /// Where the queue lives. Defaults to the local (SQLite) connector.
    public var connector: ConnectorConfig
    /// Tasks a worker process runs before it is replaced; 0 runs forever.
    public var maxTasksPerRun: Int
    /// Retries allowed per task; 0 allows any number.
    public var maxRetries: Int
    /// Tasks pulled from the broker in one round trip.
    public var tasksPerTransaction: Int
    /// Threads that run `work` concurrently; 1 runs tasks one after the other.
    public var numberOfThreads: Int
    /// Tasks one worker process keeps running at once on Swift concurrency (the async
    /// executor: `work(task:) async`, no thread per task), refilled as each ends; 0 (the
    /// default) uses the serial or threaded executor that `number_of_threads` picks.
    public var maxConcurrentTasks: Int
    /// How tasks are serialized and compressed.
    public var encoder: EncoderConfig
    /// Task timeout and the grace period before a worker that ignores it is killed.
    public var timeouts: Timeouts
    /// Log level, destination and which events are logged.
    public var logging: LoggingConfig
    /// When set, `onStarvation` is called after this long without tasks.
    public var starvation: Starvation?
    /// Keep pulled tasks recorded as in flight until they are done, so a worker that dies
    /// loses none (at-least-once). False gives Python sergeant's at-most-once pops.
    public var atLeastOnce: Bool
    /// Deaths of workers with a task in flight after which it is set aside in `NAME.dead`
    /// as a poison task; 0 never sets one aside.
    public var maxDeaths: Int
    /// Largest task, in bytes as stored, that is pushed or worked; larger ones are refused
    /// on push and set aside in `NAME.dead` on pop. 0 means no limit.
    public var maxTaskSize: Int

    /// Creates a configuration; every argument but `name` has sergeant's default.
    public init(
        name: String,
        connector: ConnectorConfig = .local(),
        maxTasksPerRun: Int = 0,
        maxRetries: Int = 0,
        tasksPerTransaction: Int = 1,
        numberOfThreads: Int = 1,
        encoder: EncoderConfig = EncoderConfig(),
        timeouts: Timeouts = Timeouts(),
        logging: LoggingConfig = LoggingConfig(),
        starvation: Starvation? = nil,
        atLeastOnce: Bool = true,
        maxDeaths: Int = 3,
        maxTaskSize: Int = 16 << 20,
        maxConcurrentTasks: Int = 0
    ) {
        self.maxConcurrentTasks = maxConcurrentTasks
        self.name = name
        self.connector = connector
        self.maxTasksPerRun = maxTasksPerRun
        self.maxRetries = maxRetries
        self.tasksPerTransaction = tasksPerTransaction
        self.numberOfThreads = numberOfThreads
        self.encoder = encoder
        self.timeouts = timeouts
        self.logging = logging
        self.starvation = starvation
        self.atLeastOnce = atLeastOnce
        self.maxDeaths = maxDeaths
        self.maxTaskSize = maxTaskSize
    }

    enum CodingKeys: String, CodingKey {
        case name, connector, encoder, timeouts, logging, starvation
        case maxTasksPerRun = "max_tasks_per_run"
        case maxRetries = "max_retries"
        case tasksPerTransaction = "tasks_per_transaction"
        case numberOfThreads = "number_of_threads"
        case maxConcurrentTasks = "max_concurrent_tasks"
        case atLeastOnce = "at_least_once"
        case maxDeaths = "max_deaths"
        case maxTaskSize = "max_task_size"
    }

    /// Decodes a map in which every field but `name` is optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = WorkerConfig(name: "")
        name = try container.decode(String.self, forKey: .name)
        connector = try container.decodeIfPresent(ConnectorConfig.self, forKey: .connector) ?? defaults.connector
        maxTasksPerRun = try container.decodeIfPresent(Int.self, forKey: .maxTasksPerRun) ?? defaults.maxTasksPerRun
        maxRetries = try container.decodeIfPresent(Int.self, forKey: .maxRetries) ?? defaults.maxRetries
        tasksPerTransaction = try container.decodeIfPresent(Int.self, forKey: .tasksPerTransaction) ?? defaults.tasksPerTransaction
        numberOfThreads = try container.decodeIfPresent(Int.self, forKey: .numberOfThreads) ?? defaults.numberOfThreads
        maxConcurrentTasks = try container.decodeIfPresent(Int.self, forKey: .maxConcurrentTasks) ?? defaults.maxConcurrentTasks
        encoder = try container.decodeIfPresent(EncoderConfig.self, forKey: .encoder) ?? defaults.encoder
        timeouts = try container.decodeIfPresent(Timeouts.self, forKey: .timeouts) ?? defaults.timeouts
        logging = try container.decodeIfPresent(LoggingConfig.self, forKey: .logging) ?? defaults.logging
        starvation = try container.decodeIfPresent(Starvation.self, forKey: .starvation)
        atLeastOnce = try container.decodeIfPresent(Bool.self, forKey: .atLeastOnce) ?? defaults.atLeastOnce
        maxDeaths = try container.decodeIfPresent(Int.self, forKey: .maxDeaths) ?? defaults.maxDeaths
        maxTaskSize = try container.decodeIfPresent(Int.self, forKey: .maxTaskSize) ?? defaults.maxTaskSize
    }

    /// Problems that make the configuration unusable, each a sentence; empty when valid.
    package func problems() -> [String] {
        var problems: [String] = []
        if name.isEmpty { problems.append("name is empty; it names the worker's queue") }
        if maxTasksPerRun < 0 { problems.append("max_tasks_per_run is \(maxTasksPerRun); use 0 (forever) or more") }
        if maxRetries < 0 { problems.append("max_retries is \(maxRetries); use 0 (unlimited) or more") }
        if tasksPerTransaction < 1 { problems.append("tasks_per_transaction is \(tasksPerTransaction); use 1 or more") }
        if numberOfThreads < 1 { problems.append("number_of_threads is \(numberOfThreads); use 1 or more") }
        if maxConcurrentTasks < 0 {
            problems.append("max_concurrent_tasks is \(maxConcurrentTasks); use 0 (no async executor) or more")
        }
        if maxTaskSize < 0 { problems.append("max_task_size is \(maxTaskSize); use 0 (no limit) or more bytes") }
        if timeouts.timeout < 0 || timeouts.gracePeriod < 0 { problems.append("timeouts must not be negative") }
        return problems
    }
}

// MARK: - ConnectorConfig

/// Which broker holds the queue, as sergeant's `Connector(type:, params:)`.
public struct ConnectorConfig: Codable, Sendable, Hashable {
    /// The kind of broker, by name (`"redis"`, `"local"`): open, so that a connector is
    /// added by registering its name, not by editing an enum.
    public struct Kind: RawRepresentable, Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
        /// The name in the configuration document.
        public let rawValue: String

        /// The kind named `rawValue`.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The kind named by a literal.
        public init(stringLiteral value: String) { rawValue = value }
        /// Decodes the name.
        public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
        /// Encodes the name.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        /// One or more Redis nodes.
        public static let redis: Kind = "redis"
        /// An SQLite file shared by the processes of one machine.
        public static let local: Kind = "local"

        /// The name.
        public var description: String { rawValue }
    }

    /// Connector parameters; which are used depends on the kind.
    public struct Params: Codable, Sendable, Hashable {
        /// Redis nodes (redis).
        public var nodes: [RedisNode]?
        /// Database file (local).
        public var filePath: String?

        /// Creates parameters.
        public init(nodes: [RedisNode]? = nil, filePath: String? = nil) {
            self.nodes = nodes
            self.filePath = filePath
        }

        enum CodingKeys: String, CodingKey {
            case nodes
            case filePath = "file_path"
        }
    }

    /// The kind of broker.
    public var type: Kind
    /// Its parameters.
    public var params: Params

    /// Creates a connector configuration.
    public init(type: Kind, params: Params) {
        self.type = type
        self.params = params
    }

    /// Redis on the given nodes.
    public static func redis(nodes: [RedisNode]) -> ConnectorConfig {
        ConnectorConfig(type: .redis, params: Params(nodes: nodes))
    }

    /// The local connector on an SQLite file; by default sergeant's file in the temp dir.
    public static func local(filePath: String = defaultLocalFilePath) -> ConnectorConfig {
        ConnectorConfig(type: .local, params: Params(filePath: filePath))
    }

    /// `$TMPDIR/sergeant_default_db.sqlite3`, as Python sergeant.
    public static var defaultLocalFilePath: String {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return directory + "/sergeant_default_db.sqlite3"
    }
}

// MARK: - Encoder, timeouts, starvation

/// Serializer and compressor, as sergeant's `Encoder` config.
public struct EncoderConfig: Codable, Sendable, Hashable {
    /// msgpack (sergeant's Python default is pickle, which only Python reads).
    public var serializer: Serializer
    /// An optional compressor.
    public var compressor: Compressor?

    /// Creates an encoder configuration.
    public init(serializer: Serializer = .msgpack, compressor: Compressor? = nil) {
        self.serializer = serializer
        self.compressor = compressor
    }

    /// Decodes JSON in which both fields are optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serializer = try container.decodeIfPresent(Serializer.self, forKey: .serializer) ?? .msgpack
        compressor = try container.decodeIfPresent(Compressor.self, forKey: .compressor)
    }
}

/// Task timeouts, as sergeant's `Timeouts`.
public struct Timeouts: Codable, Sendable, Hashable {
    /// Seconds a task may run; 0 means no limit.
    public var timeout: Double
    /// Seconds after the timeout before a worker that ignores it is killed.
    public var gracePeriod: Double

    /// Creates timeouts.
    public init(timeout: Double = 0, gracePeriod: Double = 10) {
        self.timeout = timeout
        self.gracePeriod = gracePeriod
    }

    enum CodingKeys: String, CodingKey {
        case timeout
        case gracePeriod = "grace_period"
    }

    /// Decodes JSON in which both fields are optional.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeout = try container.decodeIfPresent(Double.self, forKey: .timeout) ?? 0
        gracePeriod = try container.decodeIfPresent(Double.self, forKey: .gracePeriod) ?? 10
    }
}

/// Starvation detection, as sergeant's `Starvation`.
public struct Starvation: Codable, Sendable, Hashable {
    /// Seconds without tasks before `onStarvation` is called.
    public var timeWithNoTasks: Double

    /// Creates a starvation setting.
    public init(timeWithNoTasks: Double) {
        self.timeWithNoTasks = timeWithNoTasks
    }

    enum CodingKeys: String, CodingKey {
        case timeWithNoTasks = "time_with_no_tasks"
    }
}
