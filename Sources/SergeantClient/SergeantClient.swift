import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore

// MARK: - SergeantClient

/// Pushes tasks to sergeant queues from any Swift program: the same msgpack task maps that
/// Python sergeant and the workers read, through the same ``Broker`` (encoding, compression,
/// max_task_size), on Redis or on a local SQLite file.
///
/// Every broker round trip runs on one thread of the client's own, never on Swift's
/// cooperative pool, so thousands of concurrent tasks may push at once. Pushes issued while a
/// round trip is in flight share the next one (one RPUSH for all of them), and each returns
/// only once its task is stored.
///
/// ```swift
/// import SergeantClient
///
/// struct Resize: Codable, Sendable { var imageURL: String; var width: Int }
///
/// let client = try SergeantClient(url: "redis://127.0.0.1:6379/0")
/// let queue = client.queue("test_worker")
/// try await queue.push(kwargs: Resize(imageURL: "https://example.com/a.png", width: 64))
/// try await queue.push(kwargs: ["n": 1], priority: .high, delay: 30, traceID: "checkout-42")
/// print(try await queue.count(includeDelayed: true))
///
/// // From a script, without async:
/// try client.queue("test_worker").blocking.push(kwargs: ["n": 2])
/// ```
public final class SergeantClient: Sendable {
    /// Where the queues live.
    public enum Location: Sendable, Hashable {
        /// One or more Redis nodes, as in a worker's configuration.
        case redis([RedisNode])
        /// The local connector's SQLite file.
        case local(filePath: String)
    }

    /// How the client encodes, stores and retries.
    public struct Options: Sendable {
        /// Serializer and compressor: must match the worker's `encoder` configuration.
        public var encoder: EncoderConfig
        /// Largest task in bytes as stored (the worker's `max_task_size`); 0 for no limit.
        public var maxTaskSize: Int
        /// Seconds a lost Redis is retried (with the worker's backoff) before a push fails.
        public var reconnectTimeout: Double
        /// How the property names of `Encodable` kwargs become keys.
        public var keyEncodingStrategy: ValueEncoder.KeyEncodingStrategy
        /// Most tasks sent in one round trip; more wait for the next.
        public var maxBatchSize: Int
        /// The logger of the connections (reconnect warnings).
        public var logger: Logger

        /// Creates options; the defaults are sergeant's worker defaults.
        public init(encoder: EncoderConfig = EncoderConfig(), maxTaskSize: Int = 16 << 20, reconnectTimeout: Double = 30,
                    keyEncodingStrategy: ValueEncoder.KeyEncodingStrategy = .useDefaultKeys, maxBatchSize: Int = 5_000,
                    logger: Logger = Logger(label: "sergeant.client")) {
            self.encoder = encoder
            self.maxTaskSize = maxTaskSize
            self.reconnectTimeout = reconnectTimeout
            self.keyEncodingStrategy = keyEncodingStrategy
            self.maxBatchSize = maxBatchSize
            self.logger = logger
        }

        /// The options that write what the worker of `config` reads (its encoder and
        /// max_task_size).
        public init(matching config: WorkerConfig, reconnectTimeout: Double = 30,
                    keyEncodingStrategy: ValueEncoder.KeyEncodingStrategy = .useDefaultKeys) {
            self.init(encoder: config.encoder, maxTaskSize: config.maxTaskSize, reconnectTimeout: reconnectTimeout,
                      keyEncodingStrategy: keyEncodingStrategy)
        }
    }

    /// Where the queues live.
    public let location: Location
    /// The options it was made with.
    public let options: Options
    let thread: BrokerThread

    /// A client of the broker `url` names: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`,
    /// `rediss://…` for TLS (as `--redis`) or `sqlite:///path/to/file.sqlite3` (the local connector).
    public convenience init(url: String, options: Options = Options()) throws(SergeantClientError) {
        try self.init(location: Self.location(url: url), options: options)
    }

    /// A client of the broker at `location`. No connection is made yet: a Redis that is
    /// down fails the first operation, after `options.reconnectTimeout` seconds of retries.
    public init(location: Location, options: Options = Options()) throws(SergeantClientError) {
        let connector: ConnectorConfig
        switch location {
        case .redis(let nodes):
            guard !nodes.isEmpty else { throw .invalidURL("a redis location needs at least one node") }
            connector = .redis(nodes: nodes)
        case .local(let filePath):
            connector = .local(filePath: filePath)
        }
        let config = WorkerConfig(name: "sergeant-client", connector: connector, encoder: options.encoder,
                                  maxTaskSize: options.maxTaskSize)
        let broker: Broker
        do throws(BrokerError) {
            broker = try Broker(config: config, logger: options.logger, reconnectTimeout: options.reconnectTimeout)
        } catch {
            throw .broker(error)
        }
        self.location = location
        self.options = options
        thread = BrokerThread(broker: broker, maxBatchSize: options.maxBatchSize)
        try thread.start()
    }

    deinit {
        thread.stop()
    }

    /// The location a URL names.
    public static func location(url: String) throws(SergeantClientError) -> Location {
        if url.hasPrefix("redis://") || url.hasPrefix("rediss://") {
            guard let node = RedisNode(url: url) else {
                throw .invalidURL("'\(url)' is not \(RedisNode.urlForms)")
            }
            return .redis([node])
        }
        for scheme in ["sqlite://", "local://"] where url.hasPrefix(scheme) {
            let path = String(url.dropFirst(scheme.count))
            guard path.hasPrefix("/") else { throw .invalidURL("'\(url)' needs an absolute path: \(scheme)/path/to/file.sqlite3") }
            return .local(filePath: path)
        }
        throw .invalidURL("'\(url)' is neither \(RedisNode.urlForms) nor sqlite:///path/to/file.sqlite3")
    }

    /// The handle of queue `name` (a worker's `name`).
    public func queue(_ name: String) -> Queue {
        Queue(name: name, client: self)
    }

    /// Finishes what is queued, then refuses further operations with
    /// ``SergeantClientError/closed(_:)``. Dropping the last reference does the same.
    public func close() {
        thread.stop()
    }

    /// Round trips made by pushes so far: with concurrent pushes, far fewer than pushes.
    public var pushRoundTrips: Int { thread.roundTrips }

    /// Runs `body` with the broker on the client's thread.
    func perform<T: Sendable>(_ body: @escaping @Sendable (Broker) throws(BrokerError) -> T) async throws(SergeantClientError) -> T {
        let result: Result<T, SergeantClientError> = await withCheckedContinuation { continuation in
            thread.enqueue(.job(run: { broker in
                do throws(BrokerError) { continuation.resume(returning: .success(try body(broker))) } catch {
                    continuation.resume(returning: .failure(.broker(error)))
                }
            }, fail: { continuation.resume(returning: .failure($0)) }))
        }
        return try result.get()
    }

    /// ``perform(_:)`` for synchronous callers: blocks the calling thread.
    func performBlocking<T: Sendable>(_ body: @escaping @Sendable (Broker) throws(BrokerError) -> T) throws(SergeantClientError) -> T {
        let done = Rendezvous<Result<T, SergeantClientError>>()
        thread.enqueue(.job(run: { broker in
            do throws(BrokerError) { done.put(.success(try body(broker))) } catch { done.put(.failure(.broker(error))) }
        }, fail: { done.put(.failure($0)) }))
        return try done.take().get()
    }
}

// MARK: - SergeantClientError

/// Why a client operation failed.
///
/// ```swift
/// do { try await queue.push(kwargs: ["n": 1]) } catch {
///     switch error {
///     case .broker(let failure): print("redis unreachable? \(failure.message)")
///     case .taskTooLarge(let size, let limit): print("\(size) > \(limit) bytes")
///     default: print(error)
///     }
/// }
/// ```
public enum SergeantClientError: Error, Sendable, CustomStringConvertible {
    /// The URL or location names no usable broker.
    case invalidURL(String)
    /// The kwargs could not be encoded, or are not a map.
    case encoding(String)
    /// The task as stored is larger than max_task_size; nothing was pushed.
    case taskTooLarge(size: Int, limit: Int)
    /// The broker failed: unreachable after the reconnect timeout, or refused the command.
    case broker(BrokerError)
    /// The client was closed.
    case closed(String)

    /// What failed and what to do about it.
    public var description: String {
        switch self {
        case .invalidURL(let message): return "invalid broker location: \(message)"
        case .encoding(let message): return "the kwargs cannot be encoded: \(message)"
        case .taskTooLarge(let size, let limit): return Broker.tooLarge(size: size, limit: limit).message
        case .broker(let error): return error.message
        case .closed(let message): return message
        }
    }
}
