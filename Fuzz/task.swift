// libFuzzer target: the task validator. The host checks each popped task with
// SergeantTask.validate(messagePack:) (Broker.decode) and hands the bytes on; the plugin
// decodes them with SergeantTask(messagePack:) over the borrowed buffer (WorkerExport.run).
// A task the host passes and the plugin cannot read fails as "the host passed a task that is
// not readable" instead of being set aside as a dead letter.
//
// Checks on every input: validate and both decoders accept exactly the same bytes; the JSON
// serializer's path (decode to a Value, then SergeantTask(value:)) accepts the same tasks with
// the same fields; an accepted task re-encodes to a task with the same fields.
import SergeantCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTask(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    let bytes = Array(buffer)
    let validated = Result { () throws(TaskDecodingError) in try SergeantTask.validate(messagePack: bytes) }
    let plugin = Result { () throws(TaskDecodingError) in try SergeantTask(messagePack: buffer) }
    let host = Result { () throws(TaskDecodingError) in try SergeantTask(messagePack: bytes) }
    switch (validated, plugin) {
    case (.success, .failure(let error)):
        fatalError("the host's check passed a task the plugin refuses: \(error)")
    case (.failure(let error), .success):
        fatalError("the host's check refused a task the plugin reads: \(error)")
    default:
        break
    }
    guard case .success(let task) = plugin else {
        if case .success = host { fatalError("SergeantTask(messagePack: [UInt8]) reads what the buffer reader refuses") }
        return 0
    }
    guard case .success(let same) = host, same.sameFields(as: task) else {
        fatalError("the two decoders read \(task) and \(host)")
    }
    // The JSON serializer's route reads a task from a decoded value: same acceptance, same task.
    if let value = try? MessagePack.decode(bytes) {
        guard let viaValue = try? SergeantTask(value: value), viaValue.sameFields(as: task) else {
            fatalError("SergeantTask(value:) disagrees on \(value): \(String(describing: try? SergeantTask(value: value))) vs \(task)")
        }
    } else {
        fatalError("a task was read from bytes that are not msgpack")
    }
    guard let again = try? SergeantTask(messagePack: task.messagePack()), again.sameFields(as: task) else {
        fatalError("\(task) does not survive its own encoding")
    }
    return 0
}

extension SergeantTask {
    /// Same kwargs (as msgpack), trace id, run count and date (bit for bit, or both the
    /// current time a task without a date is given).
    func sameFields(as other: SergeantTask) -> Bool {
        MessagePack.encode(.map(kwargs)) == MessagePack.encode(.map(other.kwargs)) && traceID == other.traceID
            && runCount == other.runCount
            && (date.bitPattern == other.date.bitPattern || (date.isNaN && other.date.isNaN)
                || (abs(date - unixTime()) < 60 && abs(other.date - unixTime()) < 60))
    }
}
