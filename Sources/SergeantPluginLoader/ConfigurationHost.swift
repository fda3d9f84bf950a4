import Logging
import SergeantABI
import SergeantCore

// MARK: - ConfigurationHost

/// The host a plugin instance gets while its configuration is read (``PluginModule/configuration(of:logger:)``):
/// no broker exists yet, because the configuration names it. Log lines reach ``PluginHost/logger``;
/// every broker function fails with a message that says why, so a worker that calls the broker
/// from `init` or `generateConfig` learns where that call belongs.
public final class ConfigurationHost: PluginHost, @unchecked Sendable {
    /// The message of every broker call made while the configuration is read.
    static let unavailable = "the broker is not open while the worker's configuration is read (in init or generateConfig):"
        + " it is opened from that configuration; make broker calls from initialize(), work() or a handler"

    /// Creates the host.
    public override init(logger: Logger) {
        super.init(logger: logger)
        let api = table
        api.pointee.push_tasks = { _, _, _, _, _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.get_next_tasks = { _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.purge_tasks = { _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.number_of_enqueued_tasks = { _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.retry = { _, _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.requeue = { _, _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.lock_acquire = { _, _, _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.lock_release = { _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.lock_is_locked = { _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.lock_set_ttl = { _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.lock_get_ttl = { _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.key_set = { _, _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.key_get = { _, _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.key_delete = { _, _, _, error in ConfigurationHost.refuse(error) }
        api.pointee.is_timed_out = { _ in 0 }
        api.pointee.should_stop = { _ in 0 }
    }

    private static func refuse(_ error: UnsafePointer<sergeant_output>?) -> sergeant_status {
        write(unavailable, to: error)
        return SERGEANT_FAILURE
    }
}
