@_exported import CSergeantABI

// MARK: - ABIVersion

/// The plugin ABI version, packed as `sergeant_plugin_abi_version` returns it:
/// `(major << 16) | minor`. Host and plugin must agree on the major version.
///
/// ```swift
/// ABIVersion.string(ABIVersion.current)  // "1.2"
/// ```
public enum ABIVersion {
    /// The ABI version this build speaks.
    public static let current = UInt32(SERGEANT_ABI_VERSION_MAJOR) << 16 | UInt32(SERGEANT_ABI_VERSION_MINOR)

    /// `major.minor` of a packed ABI version.
    public static func string(_ version: UInt32) -> String { "\(version >> 16).\(version & 0xffff)" }
}
