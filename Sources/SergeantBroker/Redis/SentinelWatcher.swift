#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantCore
import Synchronization

// MARK: - SentinelWatcher

/// The process's one subscriber to the sentinels' `+switch-master` channel for one
/// ``RedisSentinelConfig``, shared by every connection of that configuration: when the
/// sentinels announce a new master, it shuts down each registered stream that is open to
/// another address, so a connection that is idle, or blocked in a `BLMOVE` on a master that
/// stopped answering, fails at once and reconnects (asking the sentinels) instead of waiting
/// for a TCP timeout. Without it such a connection only moves at its next error.
///
/// One thread per configuration and process, started by the first ``SentinelTransport`` and
/// ended when the last one is gone. It stays subscribed to one sentinel and moves to the next
/// when that one fails or stops answering `PING`; after each (re)subscription it asks where
/// the master is, so an announcement missed meanwhile is caught up.
final class SentinelWatcher: Sendable {
    /// A stream a transport opened to `address`. Unchecked: the watcher's thread only loads
    /// the weak reference (atomic) and calls ``RedisStream/shutdown()``, which is one
    /// `shutdown(2)` on the socket, safe while another thread reads or writes it.
    private struct Registered: @unchecked Sendable {
        weak var stream: (any RedisStream)?
        let address: RedisSentinelConfig.Address
    }

    private struct State {
        var transports: [Weak<SentinelTransport>] = []  // only ever asked whether they still live
        var streams: [Registered] = []
        var running = false
        /// The master the sentinels announced last.
        var master: RedisSentinelConfig.Address?
        /// Announcements handled since the start (for tests and logs).
        var switches = 0
    }

    /// The watchers of this process, by configuration.
    private static let watchers = Synchronization.Mutex<[RedisSentinelConfig: SentinelWatcher]>([:])

    /// Seconds a read of the subscription waits before the watcher checks that it still has
    /// transports, and between two `PING`s.
    static let pollSeconds = 1
    /// Seconds a sentinel may take to connect and answer the login and the subscription.
    static let setupSeconds = 2

    let config: RedisSentinelConfig
    private let logger: Logger
    private let state = Synchronization.Mutex(State())

    private init(config: RedisSentinelConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// The watcher of `config`, created on first use.
    static func shared(for config: RedisSentinelConfig, logger: Logger) -> SentinelWatcher {
        watchers.withLock { all in
            if let watcher = all[config] { return watcher }
            let watcher = SentinelWatcher(config: config, logger: logger)
            all[config] = watcher
            return watcher
        }
    }

    // MARK: Registration

    /// Keeps the subscription running while `transport` lives.
    func register(_ transport: SentinelTransport) {
        let start = state.withLock { state -> Bool in
            state.transports.removeAll { $0.object == nil }
            state.transports.append(Weak(transport))
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if start { startThread() }
    }

    /// Records a stream opened to `address`, to be shut down when another master is announced.
    func register(_ stream: any RedisStream, at address: RedisSentinelConfig.Address) {
        state.withLock { state in
            state.streams.removeAll { $0.stream == nil }
            state.streams.append(Registered(stream: stream, address: address))
        }
    }

    /// Announcements of a new master handled so far.
    var switches: Int { state.withLock { $0.switches } }

    /// True while the subscription thread runs.
    var isRunning: Bool { state.withLock { $0.running } }

    // MARK: Announcements

    /// The master is at `address` now: shuts down every stream open to another address.
    func masterIs(_ address: RedisSentinelConfig.Address, announced: Bool) {
        let (closed, previous) = state.withLock { state -> (Int, RedisSentinelConfig.Address?) in
            let previous = state.master
            state.master = address
            if announced { state.switches += 1 }
            var closed = 0
            state.streams.removeAll { $0.stream == nil }
            for registered in state.streams where registered.address != address {
                // A strong reference for the call: the stream cannot close its socket meanwhile.
                if let stream = registered.stream {
                    stream.shutdown()
                    closed += 1
                }
            }
            state.streams.removeAll { $0.address != address }
            return (closed, previous)
        }
        guard announced || closed > 0 else { return }
        let was = previous.map { " (was \($0))" } ?? ""
        logger.info("sentinel: \(config.masterName) is at \(address) now\(was); closed \(closed) connection(s) to the old master",
                    metadata: ["master": "\(address)", "closed": "\(closed)", "announced": "\(announced)"])
    }

    /// Parses a `+switch-master` message: `NAME OLD_IP OLD_PORT NEW_IP NEW_PORT`.
    static func newMaster(in message: String, name: String) -> RedisSentinelConfig.Address? {
        let words = message.split(separator: " ")
        guard words.count == 5, words[0] == name, let port = Int(words[4]) else { return nil }
        return .init(host: String(words[3]), port: port)
    }

    // MARK: The thread

    private func startThread() {
        // The thread starts with every signal blocked: the process's handlers run elsewhere.
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let watcher = Unmanaged<SentinelWatcher>.fromOpaque(context!).takeRetainedValue()
            watcher.run()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<SentinelWatcher>.fromOpaque(context).release()
            state.withLock { $0.running = false }
            logger.warning("sentinel: cannot start the +switch-master subscriber (pthread_create: \(result)); connections move to a new master at their next error only")
            return
        }
        pthread_detach(thread)
    }

    /// False (and marks the thread ended) once no transport of this configuration lives.
    private func keepsRunning() -> Bool {
        state.withLock { state in
            state.transports.removeAll { $0.object == nil }
            if state.transports.isEmpty { state.running = false }
            return state.running
        }
    }

    private func run() {
        var next = 0
        var delay = 0.1
        while keepsRunning() {
            let sentinel = config.sentinels[next % config.sentinels.count]
            do throws(BrokerError) {
                try subscribe(at: sentinel)
                return
            } catch {
                logger.debug("sentinel: the +switch-master subscription at \(sentinel) failed: \(error.message)")
            }
            next += 1
            if next % config.sentinels.count == 0 {
                pause(seconds: delay)
                delay = min(delay * 2, 2)
            }
        }
    }

    /// Subscribes at `sentinel` and handles its announcements; returns when no transport is
    /// left, throws when the sentinel fails or stops answering.
    private func subscribe(at sentinel: RedisSentinelConfig.Address) throws(BrokerError) {
        let link = try SentinelLink(to: sentinel, config: config, timeout: Self.setupSeconds)
        try link.send(["SUBSCRIBE", "+switch-master"])
        guard case .array(let confirmation) = try link.next(), confirmation.first == .bytes(Array("subscribe".utf8)) else {
            throw BrokerError("\(sentinel) did not confirm the subscription")
        }
        link.setReadTimeout(seconds: Self.pollSeconds)
        // An announcement made while unsubscribed: ask where the master is now.
        let current = try SentinelLink(to: sentinel, config: config, timeout: Self.setupSeconds).masterAddress(of: config.masterName)
        masterIs(current, announced: false)
        logger.debug("sentinel: subscribed to +switch-master at \(sentinel)")
        var unanswered = 0
        while true {
            let reply: RedisReply
            do throws(BrokerError) {
                reply = try link.next()
            } catch where error.message.hasPrefix("timed out") {
                guard keepsRunning() else { return }
                unanswered += 1
                if unanswered > 3 { throw BrokerError("\(sentinel) stopped answering PING") }
                try link.send(["PING"])
                continue
            }
            unanswered = 0
            guard case .array(let parts) = reply, parts.count == 3, parts[0] == .bytes(Array("message".utf8)),
                  case .bytes(let payload) = parts[2] else { continue }
            let message = String(decoding: payload, as: UTF8.self)
            if let address = Self.newMaster(in: message, name: config.masterName) {
                masterIs(address, announced: true)
            }
        }
    }
}

// MARK: - Weak

/// A weak reference, for lists of objects that must not be kept alive by being listed.
/// Unchecked: it is only loaded (an atomic operation) to ask whether the object still lives,
/// never used to call the object from another thread.
struct Weak<Object: AnyObject>: @unchecked Sendable {
    weak var object: Object?

    init(_ object: Object) { self.object = object }
}
