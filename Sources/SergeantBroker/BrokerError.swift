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

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
