// MARK: - Location

/// Where a task is in redis at the end of a run.
enum Location: String {
    case queue = "still queued"
    case processing = "still in flight"
    case dead = "in the dead-letter list"
    case nowhere = "nowhere (vanished)"
}
