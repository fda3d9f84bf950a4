// MARK: - PluginError

/// Why a plugin could not be used. Its kind is the exit code it ends the worker, and then
/// the supervisor, with: one of the load failures of ``WorkerExitCode`` (3...7).
public struct PluginError: Error, Sendable, CustomStringConvertible {
    /// The kind, as the exit code it ends the process with (`.classNotFound`, ...).
    public let kind: WorkerExitCode
    /// What was wrong and what to do.
    public let message: String

    /// Creates an error.
    public init(_ kind: WorkerExitCode, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
