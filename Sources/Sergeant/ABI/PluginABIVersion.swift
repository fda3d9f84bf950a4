import SergeantABI

// MARK: - ABI version symbol

/// The ABI version this plugin was built against: `(major << 16) | minor`.
///
/// Exported from every plugin that links the SDK; the host calls it before anything else.
/// `package`: the C symbol is exported all the same, and plugins do not see the Swift name.
@_cdecl("sergeant_plugin_abi_version")
package func sergeantPluginABIVersion() -> UInt32 {
    ABIVersion.current
}
