// MARK: - BrokerError

/// A broker operation that failed, with what to do about it.
///
/// ```swift
/// do { try broker.push(tasks: [task], queue: "q") } catch {
///     print("sergeant: \(error.message)")  // e.g. "redis 127.0.0.1:6379 is unreachable: ..."
/// }
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
}
