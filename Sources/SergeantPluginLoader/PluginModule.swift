#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantABI
import SergeantCore

// MARK: - PluginModule

/// A worker plugin loaded with `dlopen`, its ABI version checked.
///
/// The module stays loaded for the life of the process: Swift runtimes do not support
/// unloading a library that registered types.
public final class PluginModule: @unchecked Sendable {
    /// The path given on the command line.
    public let path: String
    /// The ABI version the plugin was built against.
    public let abiVersion: UInt32
    private let create: sergeant_worker_create_fn

    /// Loads the module at `path` (used as given: no search path is consulted) and checks
    /// its ABI version.
    public init(path: String) throws(PluginError) {
        self.path = path
        guard !path.isEmpty else { throw PluginError(.moduleNotFound, "--worker-module is empty; give the path of a plugin such as ./libconsumer.so") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw PluginError(.moduleNotFound, "worker module \(path) does not exist (\(String(cString: strerror(errno))));"
                + " build it with `swift build` in the plugin's package and pass the path of its .so")
        }
        guard access(path, R_OK) == 0 else {
            throw PluginError(.moduleNotLoadable, "worker module \(path) is not readable by this user")
        }
        // A file being copied over the path is shorter than its headers say; dlopen would die of SIGBUS on it.
        if let truncation = ELFExtent.truncation(path: path, size: Int(info.st_size)) {
            throw PluginError(.moduleNotLoadable, truncation)
        }
        // A path without a slash would make dlopen search the library path: refuse to guess.
        let explicitPath = path.contains("/") ? path : "./" + path
        guard let handle = dlopen(explicitPath, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw PluginError(.moduleNotLoadable, "worker module \(path) cannot be loaded: \(reason)")
        }
        guard let versionSymbol = dlsym(handle, SERGEANT_PLUGIN_ABI_SYMBOL) else {
            throw PluginError(.moduleNotLoadable, "worker module \(path) is not a sergeant plugin: it does not export"
                + " \(SERGEANT_PLUGIN_ABI_SYMBOL); link it against the Sergeant SDK")
        }
        let version = unsafeBitCast(versionSymbol, to: sergeant_plugin_abi_version_fn.self)()
        guard version >> 16 == ABIVersion.current >> 16 else {
            throw PluginError(.abiMismatch, "worker module \(path) was built for plugin ABI \(ABIVersion.string(version)),"
                + " this host speaks \(ABIVersion.string(ABIVersion.current)); rebuild the plugin against this SDK")
        }
        guard let createSymbol = dlsym(handle, SERGEANT_PLUGIN_CREATE_SYMBOL) else {
            throw PluginError(.moduleNotLoadable, "worker module \(path) does not export \(SERGEANT_PLUGIN_CREATE_SYMBOL);"
                + " add the exportWorkers lines shown in the README")
        }
        abiVersion = version
        create = unsafeBitCast(createSymbol, to: sergeant_worker_create_fn.self)
    }

    /// The configuration of worker class `className`: one instance, created with a
    /// ``ConfigurationHost`` (log only: no broker exists before the configuration does), asked
    /// for its configuration once, and destroyed.
    public func configuration(of className: String, logger: Logger) throws(PluginError) -> WorkerConfig {
        try makeWorker(className: className, host: ConfigurationHost(logger: logger)).config()
    }

    /// Creates an instance of the worker class `className`, wired to `host`. The worker keeps
    /// the host (whose function table the plugin holds) alive as long as it lives.
    ///
    /// The growth rule (sergeant_plugin.h, TABLES): the plugin gets a zeroed room of exactly
    /// this build's `sergeant_worker_api`, on the heap, its `size` preset to that room; the
    /// host then reads only the bytes the plugin reports having written.
    public func makeWorker(className: String, host: PluginHost) throws(PluginError) -> PluginWorker {
        let roomSize = ABITable.compiledSize(sergeant_worker_api.self)
        let room = UnsafeMutablePointer<sergeant_worker_api>.allocate(capacity: 1)
        room.initialize(to: sergeant_worker_api())
        room.pointee.size = roomSize
        defer { room.deallocate() }
        let error = OutputBuffer()
        let status = error.withOutput { output in
            className.withCString { create($0, host.api, room, output) }
        }
        let (table, reported) = ABITable.read(UnsafeRawPointer(room), into: sergeant_worker_api())
        switch status {
        case SERGEANT_OK:
            guard ABITable.covers(reported, \sergeant_worker_api.worker), table.worker != nil else {
                throw PluginError(.moduleNotLoadable, "worker module \(path) returned an empty worker table")
            }
            return PluginWorker(table: table, reportedSize: reported, host: host)
        case SERGEANT_CLASS_NOT_FOUND:
            throw PluginError(.classNotFound, "worker class '\(className)' not found in \(path): \(error.text)")
        case SERGEANT_ABI_MISMATCH:
            throw PluginError(.abiMismatch, "worker module \(path) refused this host: \(error.text)")
        default:
            throw PluginError(.moduleNotLoadable, "worker module \(path) could not create '\(className)': \(error.text)")
        }
    }
}
