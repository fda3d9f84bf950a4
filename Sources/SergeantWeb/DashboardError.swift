// MARK: - DashboardError

/// Why the dashboard cannot start as configured, with what to do instead.
public struct DashboardError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem it is, to match on.
    public enum Kind: Sendable, Equatable {
        /// A non-loopback address without `--auth-token` or basic-auth credentials.
        case unauthenticatedBind
        /// Basic-auth credentials not in `USER:PASSWORD` form.
        case malformedCredentials
        /// A port outside 0...65535 or a refresh interval below 0.
        case badSetting
    }

    /// What kind of problem it is.
    public var kind: Kind
    /// The message for the operator.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
