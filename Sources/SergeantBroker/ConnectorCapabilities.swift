// MARK: - InFlightRecords

/// The ability to deliver at least once: a pop records what it hands out as in flight for a
/// worker, in the same atomic step, until the worker acknowledges it; what a dead worker had in
/// flight is reclaimed. A ``Broker`` refuses `at_least_once` on a connector without it.
///
/// ```swift
/// if let records = connector as? any InFlightRecords {
///     let items = try records.pop(keys, count: 10, inFlightFor: "vm-7-1")
///     // ... work them ...
///     try records.acknowledge(keys, worker: "vm-7-1")
/// }
/// ```
public protocol InFlightRecords: QueueConnector {
    /// Acknowledges everything `worker` had in flight (its previous batch is done), pops like
    /// ``QueueConnector/pop(queue:count:)`` and, in the same atomic step, records the new
    /// items as in flight for `worker`, so they survive the worker's death.
    func pop(_ keys: KeySpace, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]]
    /// Forgets what `worker` has in flight: its tasks are done.
    func acknowledge(_ keys: KeySpace, worker: String) throws(BrokerError)
    /// Removes one item from `worker`'s in-flight record.
    func forget(_ keys: KeySpace, worker: String, item: [UInt8]) throws(BrokerError)
    /// Marks `worker` alive for `ttl` seconds and lists it among the queue's workers.
    func heartbeat(_ keys: KeySpace, worker: String, ttl: Int) throws(BrokerError)
    /// Takes over the in-flight items of `worker` (dead: its supervisor reaped it): they move
    /// from its records to the claimant's reclaimed list, and everything that list holds is
    /// returned, for the caller to push back or set aside and then ``releaseReclaimed(_:by:)``.
    /// `alsoExpired` adds every worker of the queue whose heartbeat expired, checked in the
    /// same atomic step that takes its records.
    func reclaim(_ keys: KeySpace, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]]
    /// Forgets the claimant's reclaimed list: what ``reclaim(_:worker:alsoExpired:by:)``
    /// returned is pushed back.
    func releaseReclaimed(_ keys: KeySpace, by claimant: String) throws(BrokerError)
    /// Counts one more death of a worker while `item` was in flight; returns the count.
    func countDeath(_ keys: KeySpace, item: [UInt8]) throws(BrokerError) -> Int
}

// MARK: - IncrementalInFlightRecords

/// In-flight records that a worker keeps open while it pops more: a pop adds to the record
/// instead of acknowledging it, and each task is acknowledged alone, in any order, when it
/// ends. The async executor needs this to refill as tasks finish; on a connector without it,
/// an at-least-once async executor refills only when everything it pulled is done.
///
/// ```swift
/// let more = try records.popAdding(keys, count: 10, inFlightFor: "vm-7-1", alone: false)  // the rest stays
/// try records.forget(keys, worker: "vm-7-1", items: [finished])                           // one task done
/// ```
public protocol IncrementalInFlightRecords: InFlightRecords {
    /// Pops like ``InFlightRecords/pop(_:count:inFlightFor:)`` but keeps what `worker` already
    /// has in flight: the new items are appended to its record in the same atomic step.
    /// Tasks recovered from dead workers come first and one at a time, only when the worker
    /// runs nothing else (`alone`), so that a poison task dies alone (see ``AddedItems``).
    func popAdding(_ keys: KeySpace, count: Int, inFlightFor worker: String, alone: Bool) throws(BrokerError) -> AddedItems
    /// Removes each of `items` (one occurrence each) from `worker`'s in-flight record, in one
    /// round trip: those tasks are done.
    func forget(_ keys: KeySpace, worker: String, items: [[UInt8]]) throws(BrokerError)
}

/// What ``IncrementalInFlightRecords/popAdding(_:count:inFlightFor:alone:)`` pulled.
public struct AddedItems: Sendable {
    /// The items, now in flight for the worker.
    public var items: [[UInt8]]
    /// The one item is a task recovered from a dead worker: run it alone, pull nothing more
    /// until it ends.
    public var recovered: Bool
    /// Nothing was pulled because recovered tasks wait: finish what runs, then pull alone.
    public var recoveredWaiting: Bool

    /// Creates the result of a pull.
    public init(items: [[UInt8]], recovered: Bool = false, recoveredWaiting: Bool = false) {
        self.items = items
        self.recovered = recovered
        self.recoveredWaiting = recoveredWaiting
    }
}

// MARK: - BlockingWait

/// The ability to wait for a task without polling (Redis `BLMOVE`/`BLPOP`): an idle worker
/// starts a new task the moment it is pushed. Without it the ``Broker`` polls.
public protocol BlockingWait: QueueConnector {
    /// Waits up to `timeout` seconds for a queued item and pops it (recording it in flight for
    /// `worker` when given, which needs ``InFlightRecords`` too); empty when none came.
    func waitForItems(_ keys: KeySpace, timeout: Double, inFlightFor worker: String?) throws(BrokerError) -> [[UInt8]]
}

// MARK: - ConnectorCapabilities

/// The optional abilities of a connector, as a value (for messages and checks at start).
public struct ConnectorCapabilities: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// ``InFlightRecords``.
    public static let inFlightRecords = ConnectorCapabilities(rawValue: 1 << 0)
    /// ``BlockingWait``.
    public static let blockingWait = ConnectorCapabilities(rawValue: 1 << 1)
    /// ``IncrementalInFlightRecords``.
    public static let incrementalInFlight = ConnectorCapabilities(rawValue: 1 << 2)
    /// ``FleetRecords``.
    public static let fleetRecords = ConnectorCapabilities(rawValue: 1 << 3)

    /// The abilities `connector` declares.
    public init(of connector: any QueueConnector) {
        self = []
        if connector is any InFlightRecords { insert(.inFlightRecords) }
        if connector is any BlockingWait { insert(.blockingWait) }
        if connector is any IncrementalInFlightRecords { insert(.incrementalInFlight) }
        if connector is any FleetRecords { insert(.fleetRecords) }
    }

    /// `in-flight records, blocking wait` or `none`.
    public var description: String {
        let names = [(Self.inFlightRecords, "in-flight records"), (.blockingWait, "blocking wait"),
                     (.incrementalInFlight, "tasks acknowledged one by one"), (.fleetRecords, "fleet records")]
            .filter { contains($0.0) }.map(\.1)
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }
}
