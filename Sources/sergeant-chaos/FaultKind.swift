// MARK: - FaultKind

/// The faults the suite injects.
enum FaultKind: String, CaseIterable {
    case workerKill = "worker SIGKILL"
    case supervisorKill = "supervisor SIGKILL"
    case redisRestart = "redis restart"
    case masterKill = "master SIGKILL"

    /// The name --fault-kinds uses.
    var option: String {
        switch self {
        case .workerKill: return "worker"
        case .supervisorKill: return "supervisor"
        case .redisRestart: return "redis"
        case .masterKill: return "master"
        }
    }
}
