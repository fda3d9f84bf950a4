import SergeantBroker

// MARK: - DashboardSettings

/// How `sergeant web` serves: where it listens, who may use it, which queues it shows.
///
/// The security rule: it binds 127.0.0.1 unless told otherwise, and any address that is not a
/// loopback one needs a token (``authToken``) or basic-auth credentials (``basicCredentials``);
/// ``validate()`` refuses the rest.
public struct DashboardSettings: Sendable {
    /// The address to bind.
    public var host: String = "127.0.0.1"
    /// The port to bind; 0 picks a free one.
    public var port: Int = 8080
    /// A token a client gives as `Authorization: Bearer TOKEN` (or as the password of basic auth).
    public var authToken: String?
    /// A user name and password for HTTP basic auth.
    public var basicCredentials: (user: String, password: String)?
    /// Queues to show besides those live workers publish.
    public var queues: [String] = []
    /// Seconds between the page's automatic reloads; 0 turns them off.
    public var refreshSeconds: Double = 5
    /// Rate buckets the chart draws, 10 s each (``RateBuckets``): an hour, all the broker keeps.
    public var chartBuckets: Int = RateBuckets.history
    /// Dead letters listed per queue.
    public var deadLetterLimit: Int = 50
    /// The connector's type, shown in the header.
    public var connectorType: String = "redis"

    /// Settings with the defaults.
    public init() {}

    /// Reads `USER:PASSWORD` (from an environment variable) into ``basicCredentials``.
    public mutating func setBasicCredentials(_ text: String) throws(DashboardError) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex else {
            throw DashboardError(.malformedCredentials, "basic-auth credentials must be USER:PASSWORD, both non-empty")
        }
        basicCredentials = (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// True when clients must authenticate.
    public var requiresAuthentication: Bool { authToken != nil || basicCredentials != nil }

    /// True for 127.0.0.0/8, ::1 and localhost.
    public var bindsLoopback: Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Throws when the settings are unsafe or out of range.
    public func validate() throws(DashboardError) {
        if !bindsLoopback && !requiresAuthentication {
            throw DashboardError(.unauthenticatedBind,
                                 "refusing to serve the dashboard on \(host) without authentication: give --auth-token TOKEN"
                                 + " (or basic-auth credentials in SERGEANT_WEB_BASIC_AUTH=USER:PASSWORD), or bind 127.0.0.1")
        }
        if let authToken, authToken.count < 8 {
            throw DashboardError(.badSetting, "--auth-token is too short (\(authToken.count) characters): use at least 8")
        }
        guard (0...65535).contains(port) else { throw DashboardError(.badSetting, "--port \(port) is not a port: use 0...65535") }
        guard refreshSeconds >= 0, refreshSeconds.isFinite else {
            throw DashboardError(.badSetting, "--refresh must be 0 (off) or a number of seconds")
        }
        guard (1...RateBuckets.history).contains(chartBuckets), deadLetterLimit > 0 else {
            throw DashboardError(.badSetting, "the chart draws 1 to \(RateBuckets.history) buckets and the dead-letter limit must be positive")
        }
    }
}
