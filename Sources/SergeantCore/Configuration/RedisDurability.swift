// MARK: - RedisDurability

/// When a write to Redis counts as done.
///
/// In a node's JSON: `"durability": "replicated"`.
public enum RedisDurability: String, Codable, Sendable, Hashable {
    /// When the master has it (Redis's own behaviour): a failover can lose what the master
    /// acknowledged just before it died and had not sent to a replica yet.
    case acknowledged
    /// When a replica has it too: every write (a push, a pop's move to the in-flight list, an
    /// acknowledgement) is followed by `WAIT 1 1000` in the same round trip, and a push no
    /// replica confirmed within that second is an error (the task may be on the master only).
    case replicated
}
