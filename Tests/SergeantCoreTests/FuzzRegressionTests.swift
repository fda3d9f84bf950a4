import XCTest
@testable import SergeantCore
import SergeantCompression

/// Inputs the libFuzzer targets under Fuzz/ found (`make fuzz`), each kept as the smallest
/// form of what failed, so a fix that regresses fails here without a fuzzing run.
final class FuzzRegressionTests: XCTestCase {
    /// Fuzz/json.swift: a high surrogate escape followed by a \u escape that is not a low
    /// surrogate trapped on `low - 0xdc00` (an arithmetic overflow): `sergeant push --kwargs`
    /// crashed, and so did a host reading a JSON-serializer task. Now it is refused.
    func testJSONHighSurrogateBeforeANonLowSurrogateIsRefused() {
        for text in [#"["\ud83d\ud500"]"#, #""\ud800\u0041""#, #""\udbff\uffff""#] {
            XCTAssertThrowsError(try Value(json: text), text) { error in
                XCTAssertTrue("\(error)".contains("not by a low surrogate"), "\(error)")
            }
        }
        // The same through the JSON serializer's task decoder, as the broker runs it.
        XCTAssertThrowsError(try TaskEncoder(serializer: .json).decodeToMessagePack(Array(#"{"__task__": {"kwargs": {"a": "\ud83d\u0041"}}}"#.utf8)))
        XCTAssertEqual(try Value(json: #""\ud83d\ude00""#), .string("😀"))
    }

    /// Fuzz/json.swift: `\u` takes four hex digits, not a sign and three (UInt32(_:radix:)
    /// reads "+041" as 0x41).
    func testJSONUnicodeEscapeTakesFourHexDigits() {
        XCTAssertThrowsError(try Value(json: #""\u+041""#))
        XCTAssertThrowsError(try Value(json: #""\u-041""#))
        XCTAssertEqual(try Value(json: #""\u0041\u00E9""#), .string("Aé"))
    }
}
