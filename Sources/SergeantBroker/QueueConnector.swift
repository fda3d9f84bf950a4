import SergeantCore

// MARK: - QueueConnector

/// What every broker's storage does, on raw bytes, as sergeant's `Connector`: queues with
/// priorities and delayed items, keys and locks. The ``Broker`` adds encoding on top and is
/// the only door to a connector; optional abilities are separate protocols that a connector
/// declares by conforming: ``InFlightRecords`` (at-least-once delivery) and ``BlockingWait``.
///
/// A queue is a list key (``KeySpace/queue``, or any other list of the key space such as
/// ``KeySpace/dead``); its delayed items live in ``KeySpace/delayedSet(of:)``.
///
/// Connectors are used from one thread at a time; the ``Broker`` serialises access.
///
/// ```swift
/// final class MyConnector: QueueConnector { ... }          // the required operations
/// extension MyConnector: BlockingWait { ... }              // an ability it has
/// ConnectorRegistry.register("mine") { config, context in try MyConnector(config) }
/// ```
public protocol QueueConnector: AnyObject {
    /// Pushes items in one round trip; `consumableFrom` (unix time) makes them delayed.
    func push(queue: String, items: [[UInt8]], priority: TaskPriority, consumableFrom: Double?) throws(BrokerError)
    /// Pops up to `count` items: queued ones first, then delayed ones that are due.
    func pop(queue: String, count: Int) throws(BrokerError) -> [[UInt8]]
    /// Up to `count` queued items from the head, without removing them.
    func peek(queue: String, count: Int) throws(BrokerError) -> [[UInt8]]
    /// Number of queued items, plus delayed ones (all, or only those due).
    func length(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int
    /// Deletes the queue and its delayed items; true when anything existed.
    func delete(queue: String) throws(BrokerError) -> Bool
    /// Visits once each item that list `source` holds when the call starts, from the head, in
    /// atomic steps of up to `batch` items: each goes where `decide` says, to the tail of
    /// `destination` or back to the tail of `source` (as the bytes `decide` returns). A failure
    /// or a crash at any point leaves every item in one of the two lists, never in both and
    /// never in neither. Returns how many went to `destination` and how many stayed.
    func moveAll(from source: String, to destination: String, batch: Int,
                 _ decide: ([UInt8]) -> MoveDecision) throws(BrokerError) -> (moved: Int, kept: Int)
    /// Removes the first item of list `source` that is exactly `item` and, given a
    /// `destination`, appends `replacement` to the tail of that list, in one atomic step (a
    /// crash leaves the item in one of the two lists). False when `source` holds no such item
    /// (someone else moved or dropped it): then nothing changed.
    func moveOne(_ item: [UInt8], from source: String, to destination: String?, as replacement: [UInt8]) throws(BrokerError) -> Bool

    /// Sets a key; true when it did not exist before.
    func keySet(_ key: String, value: [UInt8]) throws(BrokerError) -> Bool
    /// Reads a key.
    func keyGet(_ key: String) throws(BrokerError) -> [UInt8]?
    /// Deletes a key; true when it existed.
    func keyDelete(_ key: String) throws(BrokerError) -> Bool

    /// Takes lock `name` if free, for `ttl` seconds; true when taken.
    func lockTryAcquire(_ name: String, ttl: Int) throws(BrokerError) -> Bool
    /// Frees lock `name`; true when it was held.
    func lockRelease(_ name: String) throws(BrokerError) -> Bool
    /// True when lock `name` is held.
    func lockIsLocked(_ name: String) throws(BrokerError) -> Bool
    /// Sets the lock's time to live; true when the lock exists.
    func lockSetTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool
    /// Seconds the lock has left, nil when free or without expiry.
    func lockGetTTL(_ name: String) throws(BrokerError) -> Int?
}

/// A connector that wants every key of a queue in one hash slot (Redis Cluster): the
/// ``Broker`` hands it hash-tagged key spaces (``KeySpace/init(queue:hashTag:)``: `{NAME}`,
/// `{NAME}.delayed`, ...) instead of sergeant's plain names.
public protocol HashTaggedKeys: QueueConnector {}

/// Where ``QueueConnector/moveAll(from:to:batch:_:)`` puts one item.
public enum MoveDecision: Sendable, Equatable {
    /// To the tail of the destination, as these bytes.
    case move([UInt8])
    /// Back to the tail of the source, as these bytes.
    case keep([UInt8])
}

extension MoveDecision {
    /// `items` sorted by `decide`: the bytes that go to the destination and those that stay.
    public static func split(_ items: [[UInt8]], by decide: ([UInt8]) -> MoveDecision) -> (move: [[UInt8]], keep: [[UInt8]]) {
        var move: [[UInt8]] = []
        var keep: [[UInt8]] = []
        for item in items {
            switch decide(item) {
            case .move(let bytes): move.append(bytes)
            case .keep(let bytes): keep.append(bytes)
            }
        }
        return (move, keep)
    }
}

extension KeySpace {
    /// The sorted set of delayed items of any list key: `LIST.delayed`.
    public static func delayedSet(of list: String) -> String { list + ".delayed" }
}
