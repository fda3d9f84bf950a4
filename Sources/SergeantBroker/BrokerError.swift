// MARK: - BrokerError

/// A broker operation that failed, with what to do about it.
///
/// ```swift
/// do { try broker.push(tasks: [task], queue: "q") } catch {
///     print("sergeant: \(error.message)")  // e.g. "redis 127.0.0.1:6379 is unreachable: ..."
/// }
/// ```
///
/// Failures a caller may handle on their own are matchable by ``reason`` (``Reason``):
///
/// ```swift
/// do { try broker.push(tasks: [task], queue: "q") } catch BrokerError.storageFull {
///     // nothing was pushed: free space, then push again
/// } catch {
///     // error.reason == .storageNotWritable, .authenticationFailed, ...
/// }
///
/// (Swift 6.3's compiler crashes on a `catch BrokerError.storageFull` under typed throws
/// that is not followed by a catch-all; `catch let error where error.reason == ...` works.)
/// ```
public struct BrokerError: Error, Sendable, CustomStringConvertible {
    /// What failed and why.
    public let message: String
    /// What kind of failure it is, for the failures a caller may match on (a TLS handshake,
    /// a refused login, a missing ACL permission); nil for the others.
    public let reason: Reason?

    /// Creates an error.
    public init(_ message: String, reason: Reason? = nil) {
        self.message = message
        self.reason = reason
    }

    /// The message.
    public var description: String { message }

    /// ``Reason/storageFull``, as a pattern: `catch BrokerError.storageFull`.
    public static let storageFull = Reason.storageFull
    /// ``Reason/storageNotWritable``, as a pattern: `catch BrokerError.storageNotWritable`.
    public static let storageNotWritable = Reason.storageNotWritable

    /// True when `error` has this reason (`catch BrokerError.storageFull` under typed throws).
    public static func ~= (reason: Reason, error: BrokerError) -> Bool {
        error.reason == reason
    }
}

/// True when `error` is a ``BrokerError`` with this reason (`catch BrokerError.storageFull`).
public func ~= (reason: BrokerError.Reason, error: any Error) -> Bool {
    (error as? BrokerError)?.reason == reason
}
