import Foundation
import XCTest
@testable import SergeantCompression
@testable import SergeantCore

final class CompressorTests: XCTestCase {
    // MARK: Helpers

    /// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
    private static func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    private static func hex(_ string: String) -> [UInt8] {
        let digits = Array(string.utf8)
        precondition(digits.count % 2 == 0, "odd hex length")
        func value(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: preconditionFailure("bad hex digit")
            }
        }
        return stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }

    /// Asserts that `body` throws a CompressorError for `compressor`, and returns it.
    @discardableResult
    private func assertCompressorError(
        _ compressor: Compressor,
        _ label: String,
        file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws(CompressorError) -> [UInt8]
    ) -> CompressorError? {
        do {
            let output = try body()
            XCTFail("\(compressor) \(label): expected an error, got \(output.count) bytes", file: file, line: line)
            return nil
        } catch {
            XCTAssertEqual(error.compressor, compressor, "\(label)", file: file, line: line)
            XCTAssertFalse(error.message.isEmpty, file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix("\(compressor.rawValue): "), error.description,
                          file: file, line: line)
            return error
        }
    }

    private static let sergeant = Array(String(repeating: "sergeant", count: 10).utf8)

    // MARK: Round trips

    func testRoundTripEmpty() throws {
        for compressor in Compressor.allCases {
            let compressed = try compressor.compress([])
            XCTAssertFalse(compressed.isEmpty, "\(compressor)")
            XCTAssertEqual(try compressor.decompress(compressed), [], "\(compressor)")
        }
    }

    func testRoundTripSmall() throws {
        let inputs: [[UInt8]] = [
            [0],
            [0xFF],
            Array(#"{"task":"send_email","args":[42],"kwargs":{"to":"a@b.c"},"retries":3}"#.utf8),
            Self.sergeant,
            Self.pseudoRandomBytes(count: 100, seed: 1),
        ]
        for compressor in Compressor.allCases {
            for input in inputs {
                let compressed = try compressor.compress(input)
                XCTAssertEqual(try compressor.decompress(compressed), input, "\(compressor) \(input.count) bytes")
            }
        }
    }

    func testRoundTripOneMebibyteRandom() throws {
        let input = Self.pseudoRandomBytes(count: 1 << 20, seed: 0xC0FFEE)
        for compressor in Compressor.allCases {
            let compressed = try compressor.compress(input)
            XCTAssertEqual(try compressor.decompress(compressed), input, "\(compressor)")
        }
    }

    func testRoundTripHighlyCompressible() throws {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var pattern = [UInt8]()
        while pattern.count < 3 << 20 { pattern.append(contentsOf: Self.sergeant) }
        for compressor in Compressor.allCases {
            for input in [zeros, pattern] {
                let compressed = try compressor.compress(input)
                XCTAssertLessThan(compressed.count, input.count / 50, "\(compressor)")
                XCTAssertEqual(try compressor.decompress(compressed), input, "\(compressor)")
            }
        }
    }

    // MARK: Bad input

    func testGarbageIsRejected() {
        let garbage: [[UInt8]] = [
            [0],
            Array("this is not compressed data at all".utf8),
            Self.pseudoRandomBytes(count: 1000, seed: 7),
            [UInt8](repeating: 0, count: 64),
            [UInt8](repeating: 0xFF, count: 64),
        ]
        for compressor in Compressor.allCases {
            for input in garbage {
                assertCompressorError(compressor, "garbage of \(input.count) bytes") { () throws(CompressorError) in
                    try compressor.decompress(input)
                }
            }
            assertCompressorError(compressor, "empty input") { () throws(CompressorError) in
                try compressor.decompress([])
            }
        }
    }

    func testGarbageAfterValidMagicIsRejected() throws {
        let noise = Self.pseudoRandomBytes(count: 500, seed: 99)
        for compressor in Compressor.allCases {
            let valid = try compressor.compress(Self.sergeant)
            // Keep the format's header, replace the rest with noise.
            let input = Array(valid.prefix(6)) + noise
            assertCompressorError(compressor, "noise after header") { () throws(CompressorError) in
                try compressor.decompress(input)
            }
            // Flip bits in the middle of a valid stream: checksums must catch it.
            var corrupted = valid
            for index in stride(from: valid.count / 3, to: valid.count * 2 / 3, by: 1) { corrupted[index] ^= 0x5A }
            assertCompressorError(compressor, "corrupted body") { () throws(CompressorError) in
                try compressor.decompress(corrupted)
            }
        }
    }

    func testTruncatedInputIsRejected() throws {
        let large = Self.pseudoRandomBytes(count: 200_000, seed: 3)
        for compressor in Compressor.allCases {
            let small = try compressor.compress(Self.sergeant)
            for length in 0..<small.count {
                assertCompressorError(compressor, "prefix \(length)/\(small.count)") { () throws(CompressorError) in
                    try compressor.decompress(Array(small.prefix(length)))
                }
            }
            let big = try compressor.compress(large)
            for length in [big.count / 2, big.count - 1] {
                assertCompressorError(compressor, "large prefix \(length)") { () throws(CompressorError) in
                    try compressor.decompress(Array(big.prefix(length)))
                }
            }
        }
    }

    func testTruncationMessageIsClear() throws {
        let compressed = try Compressor.zlib.compress(Self.sergeant)
        let error = assertCompressorError(.zlib, "truncated") { () throws(CompressorError) in
            try Compressor.zlib.decompress(Array(compressed.dropLast(6)))
        }
        XCTAssertEqual(error?.description,
                       "zlib: invalid or truncated data: input ended before the end-of-stream marker")
        let dataError = assertCompressorError(.zlib, "bad header") { () throws(CompressorError) in
            try Compressor.zlib.decompress([0x78, 0x00, 0x01, 0x02])
        }
        XCTAssertTrue(dataError?.description.hasPrefix("zlib: invalid or truncated data (Z_DATA_ERROR") ?? false,
                      dataError?.description ?? "")
    }

    func testTrailingGarbageIsRejected() throws {
        for compressor in Compressor.allCases {
            let input = try compressor.compress(Self.sergeant) + Array("junk".utf8)
            assertCompressorError(compressor, "trailing junk") { () throws(CompressorError) in
                try compressor.decompress(input)
            }
        }
    }

    func testConcatenatedStreams() throws {
        let first = Array("first;".utf8)
        let second = Array("second".utf8)
        for compressor in [Compressor.gzip, .bzip2, .lzma] {
            let joined = try compressor.compress(first) + compressor.compress(second)
            XCTAssertEqual(try compressor.decompress(joined), first + second, "\(compressor)")
        }
        // gzip tolerates NUL padding between and after members, like Python and GNU gzip.
        let padded = try Compressor.gzip.compress(first) + [0, 0, 0] + Compressor.gzip.compress(second) + [0, 0]
        XCTAssertEqual(try Compressor.gzip.decompress(padded), first + second)
    }

    // MARK: Decompression bombs

    func testMaximumSizeIsEnforced() throws {
        let input = [UInt8](repeating: 0x41, count: 1 << 20)
        for compressor in Compressor.allCases {
            let compressed = try compressor.compress(input)
            XCTAssertEqual(try compressor.decompress(compressed, maximumSize: 1 << 20), input, "\(compressor)")
            let error = assertCompressorError(compressor, "limit - 1") { () throws(CompressorError) in
                try compressor.decompress(compressed, maximumSize: (1 << 20) - 1)
            }
            XCTAssertTrue(error?.message.contains("maximumSize") ?? false, error?.message ?? "")
            assertCompressorError(compressor, "limit 1000") { () throws(CompressorError) in
                try compressor.decompress(compressed, maximumSize: 1000)
            }
            assertCompressorError(compressor, "limit 0") { () throws(CompressorError) in
                try compressor.decompress(compressed, maximumSize: 0)
            }
            XCTAssertEqual(try compressor.decompress(compressor.compress([]), maximumSize: 0), [])
        }
    }

    func testDefaultLimitStopsAHugeBomb() throws {
        // 300 MiB of zeros compresses to about 300 KiB with zlib; decoding stops at 256 MiB.
        let compressed = try Compressor.zlib.compress([UInt8](repeating: 0, count: 300 << 20))
        XCTAssertLessThan(compressed.count, 400_000)
        let error = assertCompressorError(.zlib, "default limit") { () throws(CompressorError) in
            try Compressor.zlib.decompress(compressed)
        }
        XCTAssertTrue(error?.message.contains("\(256 << 20)") ?? false, error?.message ?? "")
    }

    // MARK: Python compatibility

    /// Bytes produced by CPython 3.11 for the input b"sergeant" * 10.
    private static let pythonFixtures: [(Compressor, String, String)] = [
        (.zlib, "zlib.compress(data)",
         "789c2b4e2d4a4f4dcc2b29a6120d004c6d217b"),
        (.gzip, "gzip.compress(data, mtime=0)",
         "1f8b08000000000002032b4e2d4a4f4dcc2b29a6120d00fe0ced5450000000"),
        (.gzip, "gzip.compress(data, mtime=1700000000)",
         "1f8b080000f1536502ff2b4e2d4a4f4dcc2b29a6120d00fe0ced5450000000"),
        (.gzip, "GzipFile(filename='task.json', mtime=1700000000)",
         "1f8b080800f1536502ff7461736b2e6a736f6e002b4e2d4a4f4dcc2b29a6120d00fe0ced5450000000"),
        (.bzip2, "bz2.compress(data)",
         "425a68393141592653590a27fe28000022818022811c00200020a54340860349b4ea7531313c9e4f8bb9229c28480513ff1400"),
        (.lzma, "lzma.compress(data)",
         "fd377a585a000004e6d6b4460200210116000000742fe5a3e0004f000f5d0039994aab182877317f35e5c15800000000c5f792ab4940ad9600012b50b6199d3d1fb6f37d010000000004595a"),
    ]

    /// Bytes produced by CPython 3.11 for empty input.
    private static let pythonEmptyFixtures: [(Compressor, String)] = [
        (.zlib, "789c030000000001"),
        (.gzip, "1f8b080000000000020303000000000000000000"),
        (.bzip2, "425a683917724538509000000000"),
        (.lzma, "fd377a585a000004e6d6b446000000001cdf44211fb6f37d010000000004595a"),
    ]

    func testDecompressesPythonOutput() throws {
        for (compressor, label, hexString) in Self.pythonFixtures {
            XCTAssertEqual(try compressor.decompress(Self.hex(hexString)), Self.sergeant, label)
        }
        for (compressor, hexString) in Self.pythonEmptyFixtures {
            XCTAssertEqual(try compressor.decompress(Self.hex(hexString)), [], "\(compressor) empty")
        }
    }

    func testEveryFormatHasAPythonFixture() {
        let covered = Set(Self.pythonFixtures.map(\.0))
        XCTAssertEqual(covered, Set(Compressor.allCases))
    }

    // MARK: API surface

    func testRawValuesAndCodable() throws {
        XCTAssertEqual(Compressor.allCases.map(\.rawValue), ["zlib", "gzip", "bzip2", "lzma"])
        let encoded = try JSONEncoder().encode([Compressor.gzip, .lzma])
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), #"["gzip","lzma"]"#)
        XCTAssertEqual(try JSONDecoder().decode([Compressor].self, from: encoded), [.gzip, .lzma])
    }
}
