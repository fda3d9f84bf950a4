// MARK: - FaultRecord

/// One injected fault, for the timeline and for attributing lost tasks.
struct FaultRecord {
    var number: Int
    var kind: FaultKind
    var time: Double
    var detail: String
}
