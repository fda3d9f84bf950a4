// libFuzzer target: the msgpack decoder (MessagePack.decode, the reader every task, dead
// letter and kwargs value goes through) and its allocation-free twin MessagePack.check.
//
// Checks on every input: no crash or sanitizer report; decode and check accept exactly the
// same bytes; what decodes re-encodes to bytes that decode to the same encoding again.
import SergeantCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagePack(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    let decoded = Result { () throws(MessagePackError) in try MessagePack.decode(buffer) }
    let checked = Result { () throws(MessagePackError) in try MessagePack.check(buffer) }
    switch (decoded, checked) {
    case (.success(let value), .success):
        let encoded = MessagePack.encode(value)
        guard let again = try? MessagePack.decode(encoded) else {
            fatalError("decoded \(value) re-encodes to \(encoded), which does not decode")
        }
        guard MessagePack.encode(again) == encoded else {
            fatalError("\(value) re-encoded is not stable: \(encoded) vs \(MessagePack.encode(again))")
        }
    case (.failure, .failure):
        break
    case (.success(let value), .failure(let error)):
        fatalError("decode accepted \(value) but check refused: \(error)")
    case (.failure(let error), .success):
        fatalError("check accepted bytes that decode refused: \(error)")
    }
    return 0
}
