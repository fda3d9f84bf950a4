// MARK: - SoakError

/// A soak that could not be set up or could not finish: what went wrong and what to do.
struct SoakError: Error, CustomStringConvertible {
    /// What went wrong.
    let description: String

    init(_ description: String) { self.description = description }
}
