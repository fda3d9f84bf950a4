// MARK: - TaskPriority

/// Where a pushed task goes in its queue, as sergeant's `priority` argument.
public enum TaskPriority: String, Sendable, Hashable, Codable, CaseIterable {
    /// Appended to the end of the queue (RPUSH). The default.
    case normal = "NORMAL"
    /// Put at the head of the queue (LPUSH): consumed before every NORMAL task.
    case high = "HIGH"
}
