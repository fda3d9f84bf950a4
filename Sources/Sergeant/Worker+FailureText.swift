// MARK: - Failure text

extension Worker {
    /// The `failure` string that `onFailure` and `postWork` receive for an error thrown by
    /// `work`, as Python sergeant passes `str(exception)`:
    /// - an error that is `CustomStringConvertible` gives its `description`;
    /// - an error holding one `String` (e.g. `struct Failure: Error { let message: String }`)
    ///   gives that string;
    /// - any other error gives its type and value as Swift prints them (`Failure(code: 3)`,
    ///   `MyError.notFound`).
    ///
    /// ```swift
    /// struct Failure: Error { let message: String }
    /// Worker.failureText(of: Failure(message: "no such user"))  // "no such user"
    /// ```
    public static func failureText(of error: any Error) -> String {
        if let described = error as? any CustomStringConvertible { return described.description }
        let children = Mirror(reflecting: error).children
        if children.count == 1, let text = children.first?.value as? String { return text }
        let text = String(describing: error)
        let type = String(describing: Swift.type(of: error))
        return text.hasPrefix(type) ? text : "\(type).\(text)"
    }
}
