#if canImport(Glibc)
import Glibc
#endif
import SergeantCore

// MARK: - DeflaterCache

/// A reusable deflate state.
final class Deflater {
    let codec: ZlibCodec

    init(_ codec: consuming ZlibCodec) {
        self.codec = codec
    }

    func reset() {
        codec.resetCompressor()
    }
}

/// One deflater per format for the current thread.
final class DeflaterCache {
    private var zlib: Deflater?
    private var gzip: Deflater?

    /// This thread's cache.
    static var current: DeflaterCache {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<DeflaterCache>.fromOpaque(existing).takeUnretainedValue()
        }
        let cache = DeflaterCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<DeflaterCache>.fromOpaque(pointer).release() }
        }
        return key
    }()

    /// The deflater of `format`: zlib level 6 or gzip level 9, as Python writes them.
    func deflater(for format: Compressor) throws(CompressorError) -> Deflater {
        if format == .gzip {
            if let gzip { return gzip }
            let made = Deflater(try ZlibCodec(owner: .gzip, compressingAtLevel: 9, windowBits: 15 + 16))
            gzip = made
            return made
        }
        if let zlib { return zlib }
        let made = Deflater(try ZlibCodec(owner: .zlib, compressingAtLevel: 6, windowBits: 15))
        zlib = made
        return made
    }
}
