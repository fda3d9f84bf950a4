import ArgumentParser

// MARK: - ChaosBroker

/// The Redis topology a run's workers use (`--broker`): one redis-server, a master found
/// through Redis Sentinel, or a Redis Cluster; a new topology is one case here plus its set-up
/// in ``ChaosRun``.
enum ChaosBroker: String, CaseIterable, ExpressibleByArgument {
    /// One redis-server with an append-only file; its fault is a restart.
    case single
    /// A master, its replica and three sentinels (``SentinelGroup``); its fault is a SIGKILL
    /// of the master, which the sentinels answer with a failover.
    case sentinel
    /// A Redis Cluster of 3 masters and 3 replicas on loopback, one queue over 3 shards; its
    /// fault is a SIGKILL of a master: its replica is promoted, the old one comes back as a
    /// replica.
    case cluster

    /// The Redis fault kinds this broker has.
    var redisFaults: [FaultKind] {
        switch self {
        case .single: [.redisRestart]
        case .sentinel, .cluster: [.masterKill]
        }
    }
}
