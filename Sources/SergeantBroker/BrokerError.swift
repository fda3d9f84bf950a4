// MARK: - BrokerError

/// A broker operation that failed, with what to do about it.
///
/// ```swift
/// do { try broker.push(tasks: [task], queue: "q") } catch {
///     print("sergeant: \(error.message)")  // e.g. "redis 127.0.0.1:6379 is unreachable: ..."
/// }
/// ```
///
/// Failures a caller may handle on their own are matchable by ``kind``:
///
/// ```swift
/// do { try broker.push(tasks: [task], queue: "q") } catch BrokerError.storageFull {
///     // nothing was pushed: free space, then push again
/// } catch {
///     // error.kind == .storageNotWritable, ...
/// }
///
/// (Swift 6.3's compiler crashes on a `catch BrokerError.storageFull` under typed throws
/// that is not followed by a catch-all; `catch let error where error.kind == ...` works.)
/// ```
public struct BrokerError: Error, Sendable, CustomStringConvertible {
    /// What failed and why.
    public let message: String
    /// Which failure it is, for a caller that handles some of them.
    public let kind: Kind

    /// Creates an error.
    public init(_ message: String, kind: Kind = .other) {
        self.message = message
        self.kind = kind
    }

    /// The message.
    public var description: String { message }

    /// The failures a caller can tell apart.
    public enum Kind: Sendable, Equatable {
        /// The storage has no room left (a full disk under the local connector's file):
        /// nothing of the operation was written; free space, then run it again.
        case storageFull
        /// The storage cannot be written (a read-only file, directory or file system).
        case storageNotWritable
        /// Any other failure.
        case other
    }

    /// ``Kind/storageFull``, as a pattern: `catch BrokerError.storageFull`.
    public static let storageFull = Kind.storageFull
    /// ``Kind/storageNotWritable``, as a pattern: `catch BrokerError.storageNotWritable`.
    public static let storageNotWritable = Kind.storageNotWritable

    /// True when `error` is of this kind (`catch BrokerError.storageFull` under typed throws).
    public static func ~= (kind: Kind, error: BrokerError) -> Bool {
        error.kind == kind
    }
}

/// True when `error` is a ``BrokerError`` of this kind (`catch BrokerError.storageFull`).
public func ~= (kind: BrokerError.Kind, error: any Error) -> Bool {
    (error as? BrokerError)?.kind == kind
}
