// MARK: - PluginError

/// Why a plugin could not be used. Each kind ends the supervisor with its own exit code.
public struct PluginError: Error, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    public enum Kind: Int32, Sendable {
        /// The path does not exist.
        case moduleNotFound = 3
        /// The file is not a loadable sergeant plugin.
        case moduleNotLoadable = 4
        /// The class is not exported.
        case classNotFound = 5
        /// The plugin speaks another ABI major version.
        case abiMismatch = 6
        /// The worker's configuration is unusable.
        case invalidConfig = 7
    }

    /// The kind.
    public let kind: Kind
    /// What was wrong and what to do.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
