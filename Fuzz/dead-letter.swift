// libFuzzer target: the dead-letter entry reader (DeadLetter(entry:)), which `sergeant dead`
// and requeueDeadLetters run on whatever NAME.dead holds.
//
// Checks on every input: no crash or sanitizer report; an entry that reads re-encodes to an
// entry that reads as the same letter.
import SergeantBroker

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeadLetter(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let entry = Array(UnsafeRawBufferPointer(start: data, count: size))
    guard let letter = try? DeadLetter(entry: entry) else { return 0 }
    guard let again = try? DeadLetter(entry: letter.encoded) else {
        fatalError("\(letter) re-encoded does not read")
    }
    guard again.task == letter.task, again.reason == letter.reason,
          again.date.bitPattern == letter.date.bitPattern || (again.date.isNaN && letter.date.isNaN) else {
        fatalError("\(letter) re-encoded reads as \(again)")
    }
    return 0
}
