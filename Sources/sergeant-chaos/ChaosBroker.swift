import ArgumentParser

// MARK: - ChaosBroker

/// The Redis topology a run's workers use (`--broker`); a new topology is one case here plus
/// its set-up in ``ChaosRun``.
enum ChaosBroker: String, CaseIterable, ExpressibleByArgument {
    /// One redis-server with an append-only file (its faults: `redis` restarts).
    case single
    /// A Redis Cluster of 3 masters and 3 replicas on loopback, one queue over 3 shards (its
    /// faults: `master`, a SIGKILL of a master: its replica is promoted, the old one comes back
    /// as a replica).
    case cluster
}
