// MARK: - SetupError

/// The run's failure to set up; the summary is still printed.
struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
