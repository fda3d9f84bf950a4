import SergeantCore

// MARK: - TaskEncoder

/// sergeant's `Encoder`: a serializer and an optional compressor, applied to every task and
/// key value that goes to the broker, and reversed on the way back.
public struct TaskEncoder: Sendable, Hashable {
    /// The serializer. Only msgpack crosses languages; Python's pickle cannot be read.
    public var serializer: Serializer
    /// The compressor applied after serializing, if any.
    public var compressor: Compressor?

    /// Creates an encoder.
    public init(serializer: Serializer = .msgpack, compressor: Compressor? = nil) {
        self.serializer = serializer
        self.compressor = compressor
    }

    /// Bytes as stored in the broker for already msgpack-encoded data (the form the host and
    /// plugins exchange): serialized as configured, then compressed.
    public func encode(messagePack bytes: [UInt8]) throws(TaskDecodingError) -> [UInt8] {
        var serialized = bytes
        if serializer == .json {
            do { serialized = Array(try MessagePack.decode(bytes).jsonText.utf8) } catch { throw TaskDecodingError(error.description) }
        }
        guard let compressor else { return serialized }
        do { return try compressor.compress(serialized) } catch { throw TaskDecodingError(error.description) }
    }

    /// Bytes as stored in the broker for a task.
    public func encode(_ task: SergeantTask) throws(TaskDecodingError) -> [UInt8] {
        try encode(messagePack: task.messagePack())
    }

    /// The msgpack bytes inside broker bytes: decompressed, with pickle recognised and refused.
    public func decodeToMessagePack(_ stored: [UInt8]) throws(TaskDecodingError) -> [UInt8] {
        var bytes = stored
        if let compressor {
            do { bytes = try compressor.decompress(stored) } catch {
                throw TaskDecodingError("could not decompress with \(compressor.rawValue): \(error.description)"
                    + Self.hint(for: stored))
            }
        }
        if Self.looksLikePickle(bytes) {
            throw TaskDecodingError("the task was written by Python's pickle serializer, which only Python can read;"
                + " configure the producer with encoder serializer 'msgpack'")
        }
        if serializer == .json {
            do { return MessagePack.encode(try Value(json: String(decoding: bytes, as: UTF8.self))) } catch {
                throw TaskDecodingError("the bytes are not the JSON this worker's serializer expects: \(error)")
            }
        }
        return bytes
    }

    /// Decodes broker bytes into a task.
    public func decode(_ stored: [UInt8]) throws(TaskDecodingError) -> SergeantTask {
        try SergeantTask(messagePack: decodeToMessagePack(stored))
    }

    /// Decodes broker bytes into any value (key values).
    public func decodeValue(_ stored: [UInt8]) throws(TaskDecodingError) -> Value {
        let bytes = try decodeToMessagePack(stored)
        do { return try MessagePack.decode(bytes) } catch { throw TaskDecodingError(error.description) }
    }

    /// Pickle protocol 2 and later start with PROTO (0x80) and the protocol number.
    static func looksLikePickle(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x80 && (2...5).contains(bytes[1]) && bytes.last == 0x2e
    }

    private static func hint(for bytes: [UInt8]) -> String {
        if let sniffed = Compressor.sniff(bytes) { return " (the bytes look \(sniffed.rawValue)-compressed)" }
        if looksLikePickle(bytes) { return " (the bytes look like Python pickle)" }
        return " (the bytes look uncompressed)"
    }
}

// MARK: - EncoderConfig

extension EncoderConfig {
    /// The encoder this configuration describes.
    public var taskEncoder: TaskEncoder { TaskEncoder(serializer: serializer, compressor: compressor) }
}

extension Compressor {
    /// Guesses the compressor from magic bytes, for error messages.
    public static func sniff(_ bytes: [UInt8]) -> Compressor? {
        if bytes.starts(with: [0x1f, 0x8b]) { return .gzip }
        if bytes.starts(with: [0x42, 0x5a, 0x68]) { return .bzip2 }
        if bytes.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .lzma }
        if bytes.count >= 2, bytes[0] & 0x0f == 8, (UInt16(bytes[0]) << 8 | UInt16(bytes[1])) % 31 == 0 { return .zlib }
        return nil
    }
}
