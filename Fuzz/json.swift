// libFuzzer target: the JSON parser (Value(json:)), which reads `sergeant push --kwargs`,
// `push --from-file` lines, the JSON serializer's tasks and every plugin's configuration.
//
// Checks on every input: no crash, no sanitizer report, no unbounded recursion; a parsed
// value printed as JSON (jsonText) parses back to the same value.
import SergeantCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: data, count: size), as: UTF8.self)
    guard let value = try? Value(json: text) else { return 0 }
    let printed = value.jsonText
    let again: Value
    do { again = try Value(json: printed) } catch {
        fatalError("\(value) printed as \(printed), which does not parse: \(error)")
    }
    guard MessagePack.encode(again) == MessagePack.encode(value) else {
        fatalError("\(value) printed as \(printed) parses back as \(again)")
    }
    return 0
}
