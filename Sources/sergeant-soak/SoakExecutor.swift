// MARK: - SoakExecutor

/// The worker-process executors a soak runs, one run each. An executor is chosen through the
/// benchmark plugin's environment (Plugins-Examples/benchmark), so adding one is one case and
/// its line in ``pluginEnvironment(threads:)``.
enum SoakExecutor: String, CaseIterable, Sendable {
    /// One task after the other (number_of_threads = 1).
    case serial
    /// sergeant's threaded executor: a batch spread over `threads` threads.
    case threaded
    /// The async executor: up to `max(2, threads) * 25` tasks at once on Swift concurrency
    /// (the plugin's `BENCH_ASYNC`, its `max_concurrent_tasks`).
    case async

    /// The plugin settings that select this executor.
    func pluginEnvironment(threads: Int) -> [String: String] {
        switch self {
        case .serial: return ["BENCH_THREADS": "1"]
        case .threaded: return ["BENCH_THREADS": String(max(2, threads))]
        case .async: return ["BENCH_THREADS": "1", "BENCH_ASYNC": String(max(2, threads) * 25)]
        }
    }

    /// The executors named in a comma-separated list (`serial,threaded`).
    static func parse(_ list: String) throws(SoakError) -> [SoakExecutor] {
        let names = list.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let executors = try names.map { name throws(SoakError) -> SoakExecutor in
            guard let executor = SoakExecutor(rawValue: name) else {
                throw SoakError("unknown executor \(name) in --executors; use \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return executor
        }
        guard !executors.isEmpty else { throw SoakError("--executors names no executor") }
        return executors
    }
}
