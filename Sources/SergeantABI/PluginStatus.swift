@_exported import CSergeantABI

// MARK: - PluginStatus

/// The status codes of `sergeant_plugin.h` as a Swift enum.
public enum PluginStatus: Int32, Sendable, CaseIterable {
    /// SERGEANT_OK.
    case ok = 0
    /// SERGEANT_FAILURE.
    case failure = 1
    /// SERGEANT_RETRY.
    case retry = 2
    /// SERGEANT_MAX_RETRIES.
    case maxRetries = 3
    /// SERGEANT_REQUEUE.
    case requeue = 4
    /// SERGEANT_STOP.
    case stop = 5
    /// SERGEANT_RESPAWN.
    case respawn = 6
    /// SERGEANT_TIMEOUT.
    case timeout = 7
    /// SERGEANT_CLASS_NOT_FOUND.
    case classNotFound = 8
    /// SERGEANT_ABI_MISMATCH.
    case abiMismatch = 9
    /// SERGEANT_INVALID.
    case invalid = 10

    /// A status read from the other side; unknown codes read as failure.
    public init(code: sergeant_status) {
        self = PluginStatus(rawValue: code) ?? .failure
    }

    /// The ABI version this build speaks, as `sergeant_plugin_abi_version` returns it.
    public static let abiVersion = UInt32(SERGEANT_ABI_VERSION_MAJOR) << 16 | UInt32(SERGEANT_ABI_VERSION_MINOR)

    /// `major.minor` of a packed ABI version.
    public static func versionString(_ version: UInt32) -> String { "\(version >> 16).\(version & 0xffff)" }
}
