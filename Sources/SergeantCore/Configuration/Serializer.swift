// MARK: - Serializer

/// How values become bytes.
public enum Serializer: String, Codable, Sendable, Hashable {
    /// msgpack, as Python sergeant's `msgpack` serializer. The default.
    case msgpack
    /// JSON text: readable with any tool, at the cost of bytes (stored as base64 strings)
    /// and speed. Python sergeant 0.27 has no JSON serializer.
    case json
}
