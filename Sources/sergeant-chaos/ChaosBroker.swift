import ArgumentParser

// MARK: - ChaosBroker

/// The Redis a run's workers use (`--broker`): one redis-server, or a master found through
/// Redis Sentinel.
enum ChaosBroker: String, CaseIterable, ExpressibleByArgument {
    /// One redis-server with an append-only file; its fault is a restart.
    case single
    /// A master, its replica and three sentinels (``SentinelGroup``); its fault is a SIGKILL
    /// of the master, which the sentinels answer with a failover.
    case sentinel

    /// The Redis fault kinds this broker has.
    var redisFaults: [FaultKind] {
        switch self {
        case .single: [.redisRestart]
        case .sentinel: [.masterKill]
        }
    }
}
