#if canImport(Glibc)
import Glibc
#endif
import CLinux
import SergeantABI

// MARK: - HandlerOverrides

/// Which handlers a worker class overrides, in either form, read once per class from its
/// vtable: the table entry of a handler that the class overrides in neither form is left
/// NULL, so the host skips that call (no C crossing, no task decoding) for every task.
///
/// The Swift runtime's `swift_lookUpClassMethod(metadata, method, class)` returns the
/// implementation a class dispatches a method to; a handler is overridden when the
/// subclass's implementation of its sync or its async form is not ``Worker``'s own. The
/// method descriptors (`…Tq`) and ``Worker``'s class descriptor (`…CMn`) are symbols of the
/// image the SDK is linked into. When any of them cannot be found (a stripped module, the
/// SDK in an executable, a renamed method) every handler counts as overridden: the host
/// then calls them all, as before, so the answer is never wrong, only slower.
/// An override that calls `super` is an override: it is called.
struct HandlerOverrides: Equatable {
    /// One bit per ``HandlerForms/Handler``.
    private(set) var bits: UInt32

    /// Every handler overridden: what a class whose vtable cannot be read gets.
    static let all = HandlerOverrides(bits: UInt32((1 << HandlerForms.Handler.allCases.count) - 1))

    /// Whether `handler` is overridden (in either form).
    func contains(_ handler: HandlerForms.Handler) -> Bool {
        bits & 1 << UInt32(handler.rawValue) != 0
    }

    /// The handlers `workerClass` overrides.
    static func of(_ workerClass: Worker.Type) -> HandlerOverrides {
        guard ObjectIdentifier(workerClass) != ObjectIdentifier(Worker.self) else { return HandlerOverrides(bits: 0) }
        guard let runtime = MethodLookup.shared else { return .all }
        let derived = unsafeBitCast(workerClass as AnyClass, to: UnsafeRawPointer.self)
        var bits: UInt32 = 0
        for handler in HandlerForms.Handler.allCases {
            guard let overridden = runtime.overrides(derived, handler.methodDescriptorNames) else { return .all }
            if overridden { bits |= 1 << UInt32(handler.rawValue) }
        }
        return HandlerOverrides(bits: bits)
    }
}

// MARK: - Leaving handlers out

extension WorkerAPITable {
    /// Sets to NULL the entries of the handlers `overrides` does not contain: the ABI's
    /// "not provided", which the host skips.
    static func leaveOut(_ table: inout sergeant_worker_api, except overrides: HandlerOverrides) {
        if !overrides.contains(.initialize) { table.initialize = nil }
        if !overrides.contains(.finalize) { table.finalize = nil }
        if !overrides.contains(.preWork) { table.pre_work = nil }
        if !overrides.contains(.postWork) { table.post_work = nil }
        if !overrides.contains(.onSuccess) { table.on_success = nil }
        if !overrides.contains(.onFailure) { table.on_failure = nil }
        if !overrides.contains(.onTimeout) { table.on_timeout = nil }
        if !overrides.contains(.onRetry) { table.on_retry = nil }
        if !overrides.contains(.onMaxRetries) { table.on_max_retries = nil }
        if !overrides.contains(.onRequeue) { table.on_requeue = nil }
        if !overrides.contains(.onStarvation) { table.on_starvation = nil }
        if !overrides.contains(.onStop) { table.on_stop = nil }
    }
}

// MARK: - MethodLookup

/// `swift_lookUpClassMethod` and the class descriptor of ``Worker`` in the SDK's image.
private struct MethodLookup: @unchecked Sendable {
    typealias LookUp = @convention(c) (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer) -> UnsafeRawPointer?

    let lookUp: LookUp
    let classDescriptor: UnsafeRawPointer
    /// ``Worker``'s metadata, which lives in the image of the SDK's symbols.
    let base: UnsafeRawPointer

    /// Nil when the runtime function or the class descriptor is not to be found.
    static let shared: MethodLookup? = {
        guard let function = dlsym(nil, "swift_lookUpClassMethod") else { return nil }
        let base = unsafeBitCast(Worker.self as AnyClass, to: UnsafeRawPointer.self)
        guard let descriptor = sergeant_symbol_beside(base, "$s8Sergeant6WorkerCMn") else { return nil }
        return MethodLookup(lookUp: unsafeBitCast(function, to: LookUp.self), classDescriptor: UnsafeRawPointer(descriptor),
                            base: base)
    }()

    /// Whether `derived` dispatches any of the methods named by `names` (method descriptor
    /// symbols) to an implementation other than ``Worker``'s; nil when a name is not found.
    func overrides(_ derived: UnsafeRawPointer, _ names: [String]) -> Bool? {
        var overridden = false
        for name in names {
            guard let method = sergeant_symbol_beside(base, name) else { return nil }
            let mine = lookUp(base, UnsafeRawPointer(method), classDescriptor)
            let theirs = lookUp(derived, UnsafeRawPointer(method), classDescriptor)
            guard mine != nil else { return nil }
            if mine != theirs { overridden = true }
        }
        return overridden
    }
}

// MARK: - Method descriptor names

extension HandlerForms.Handler {
    /// The mangled method descriptors (`Tq`) of the handler's sync and async forms on
    /// ``Worker``; `HandlerOverridesTests` checks that each one resolves.
    var methodDescriptorNames: [String] {
        let prefix = "$s8Sergeant6WorkerC"
        let signature: String
        switch self {
        case .initialize: signature = "10initializeyy"
        case .finalize: signature = "8finalizeyy"
        case .preWork: signature = "7preWork4tasky0A4Core0A4TaskV_t"
        case .postWork: signature = "8postWork4task7success7failurey0A4Core0A4TaskV_SbSSSgt"
        case .onSuccess: signature = "9onSuccess4task13returnedValuey0A4Core0A4TaskV_AG0G0Ot"
        case .onFailure: signature = "9onFailure4task7failurey0A4Core0A4TaskV_SSt"
        case .onTimeout: signature = "9onTimeout4tasky0A4Core0A4TaskV_t"
        case .onRetry: signature = "7onRetry4tasky0A4Core0A4TaskV_t"
        case .onMaxRetries: signature = "12onMaxRetries4tasky0A4Core0A4TaskV_t"
        case .onRequeue: signature = "9onRequeue4tasky0A4Core0A4TaskV_t"
        case .onStarvation: signature = "12onStarvation15timeWithNoTasksySd_t"
        case .onStop: signature = "6onStop4tasky0A4Core0A4TaskV_t"
        }
        return [prefix + signature + "KFTq", prefix + signature + "YaKFTq"]
    }
}
