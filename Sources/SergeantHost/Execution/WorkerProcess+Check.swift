#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantCore
import SergeantPluginLoader

extension WorkerProcess {
    // MARK: Check

    /// `sergeant-worker --check`: loads the plugin at ``WorkerLaunch/modulePath`` in this
    /// process (dlopen, ABI version, factory) and reads the class's configuration, then
    /// returns 0, or logs why and returns the ``WorkerExitCode`` of the reason. No broker is
    /// opened and no task is pulled. A rolling restart runs it in a child of its own before it
    /// replaces any worker, so a half-copied or broken module replaces nobody; a crash while
    /// loading ends the child, not the supervisor.
    public static func check(_ launch: WorkerLaunch) -> Int32 {
        let logger = Logger(label: "sergeant-worker") { SergeantLogHandler(label: $0, format: launch.logFormat ?? .sergeant) }
        do {
            let module = try PluginModule(path: launch.modulePath)
            _ = try module.configuration(of: launch.className, logger: logger)
        } catch {
            logger.critical("\(error.message)", metadata: ["module": "\(launch.modulePath)", "class": "\(launch.className)"])
            return error.kind.rawValue
        }
        return WorkerExitCode.finished.rawValue
    }
}
