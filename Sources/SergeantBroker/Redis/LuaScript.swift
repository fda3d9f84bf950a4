// MARK: - LuaScript

/// A Lua script run with EVALSHA; connections remember its SHA1 by the object's identity, so
/// calling it costs no hashing of its text.
public final class LuaScript: Sendable {
    /// The script's text.
    public let source: String

    /// Creates a script.
    public init(_ source: String) {
        self.source = source
    }
}
