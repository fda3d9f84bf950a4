import Logging
import SergeantCore

// MARK: - RedisServerCheck

/// What a node's settings mean for its queued tasks, read once per connection, in the round
/// trip of the connection's setup (``RedisConnection``): whether Redis may evict keys (an
/// evicted queue is lost tasks), whether it persists anything (a restart of a Redis that does
/// not loses every queued task), and its `run_id`, which tells a restart from a reconnect.
///
/// A Redis that refuses `CONFIG` (managed services rename it) leaves those findings nil:
/// nothing is said about them.
public struct RedisServerCheck: Sendable, Equatable {
    /// `maxmemory-policy`; nil when `CONFIG GET` was refused.
    public var evictionPolicy: String?
    /// The RDB snapshot rules (`save`), "" when there are none; nil when refused.
    public var saveRules: String?
    /// `appendonly`; nil when refused.
    public var appendOnly: Bool?
    /// `run_id` of the server process (`INFO server`); nil when refused.
    public var runID: String?

    /// Creates findings.
    public init(evictionPolicy: String? = nil, saveRules: String? = nil, appendOnly: Bool? = nil, runID: String? = nil) {
        self.evictionPolicy = evictionPolicy
        self.saveRules = saveRules
        self.appendOnly = appendOnly
        self.runID = runID
    }

    /// True when Redis may evict keys, queues included (any policy but `noeviction`).
    public var evictsKeys: Bool { evictionPolicy.map { $0 != "noeviction" } ?? false }

    /// True when Redis writes neither RDB snapshots nor an append-only file.
    public var persistsNothing: Bool { saveRules?.isEmpty == true && appendOnly == false }

    /// True when `CONFIG GET` answered.
    public var configReadable: Bool { evictionPolicy != nil || saveRules != nil || appendOnly != nil }

    // MARK: Commands and replies

    /// The commands of the check, sent after AUTH/SELECT in the connection's setup.
    static let commands: [[String]] = [
        ["CONFIG", "GET", "maxmemory-policy"],
        ["CONFIG", "GET", "save"],
        ["CONFIG", "GET", "appendonly"],
        ["INFO", "server"],
    ]

    /// The findings of the replies to ``commands`` (error replies leave a finding nil).
    init(replies: some Collection<RedisReply>) {
        let replies = Array(replies)
        guard replies.count == Self.commands.count else { return }
        evictionPolicy = Self.configValue(replies[0])
        saveRules = Self.configValue(replies[1])
        appendOnly = Self.configValue(replies[2]).map { $0 == "yes" }
        if let info = Self.text(replies[3]) {
            for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("run_id:") {
                runID = String(line.dropFirst("run_id:".count))
            }
        }
    }

    /// The value of a `CONFIG GET name` reply (`[name, value]`).
    private static func configValue(_ reply: RedisReply) -> String? {
        guard case .array(let elements) = reply, elements.count == 2 else { return nil }
        return text(elements[1])
    }

    private static func text(_ reply: RedisReply) -> String? {
        switch reply {
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }

    // MARK: Warnings

    /// The warning of a node that may evict keys.
    public static func evictionWarning(node: RedisNode, policy: String) -> String {
        "redis \(node) evicts keys when it runs out of memory (maxmemory-policy is \(policy)): an evicted queue is lost tasks."
            + " Set `CONFIG SET maxmemory-policy noeviction` (and `maxmemory-policy noeviction` in redis.conf),"
            + " so that a full Redis refuses pushes instead"
    }

    /// The warning of a node that persists nothing.
    public static func persistenceWarning(node: RedisNode) -> String {
        "redis \(node) persists nothing (save is empty and appendonly is no): a restart of Redis loses every queued task."
            + " Turn on the append-only file (`CONFIG SET appendonly yes`, `appendonly yes` in redis.conf) or RDB snapshots (save)"
    }

    /// The warning of a node that restarted, persisting nothing, between two connections.
    public static func restartWarning(node: RedisNode, from oldRunID: String, to newRunID: String) -> String {
        "redis \(node) restarted (run_id \(oldRunID) is now \(newRunID)) and persists nothing:"
            + " the tasks queued there before the restart may be lost"
    }

    /// The warnings about these settings, for the first connection to `node`.
    public func warnings(node: RedisNode) -> [String] {
        var warnings: [String] = []
        if evictsKeys, let evictionPolicy { warnings.append(Self.evictionWarning(node: node, policy: evictionPolicy)) }
        if persistsNothing { warnings.append(Self.persistenceWarning(node: node)) }
        return warnings
    }

    /// Logs what a connection to `node` found: the warnings on its first connection
    /// (`previous` nil), a restart on a later one (a new `run_id` of a node that persists
    /// nothing).
    func log(node: RedisNode, previous: RedisServerCheck?, to logger: Logger) {
        let metadata: Logger.Metadata = ["node": "\(node)"]
        guard let previous else {
            if !configReadable {
                logger.debug("redis \(node) refused CONFIG GET: its eviction policy and persistence are not checked", metadata: metadata)
            }
            for warning in warnings(node: node) { logger.warning("\(warning)", metadata: metadata) }
            return
        }
        if let old = previous.runID, let new = runID, old != new, persistsNothing || (saveRules == nil && previous.persistsNothing) {
            logger.warning("\(Self.restartWarning(node: node, from: old, to: new))", metadata: metadata)
        }
    }
}

// MARK: - Findings of a connector

extension RedisConnector {
    /// What each node's latest connection found (``RedisServerCheck``), in configuration order;
    /// nil for a node not connected yet: for reports such as a future `sergeant stats`.
    public var serverChecks: [(node: RedisNode, check: RedisServerCheck?)] {
        connections.map { ($0.node, $0.serverCheck) }
    }
}
