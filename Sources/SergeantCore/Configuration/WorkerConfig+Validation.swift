// MARK: - WorkerConfig + Validation

/// One field of a ``WorkerConfig`` outside the range this worker accepts.
///
/// ```swift
/// ConfigurationProblem(field: "tasks_per_transaction", value: "0", accepted: "1 to 100000")
///     .description   // "tasks_per_transaction is 0; accepted: 1 to 100000"
/// ```
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The field's name as the configuration document spells it (`timeouts.grace_period`).
    public let field: String
    /// What the field holds, shortened when long.
    public let value: String
    /// The values accepted, in words.
    public let accepted: String

    /// Creates a problem.
    public init(field: String, value: String, accepted: String) {
        self.field = field
        self.value = value
        self.accepted = accepted
    }

    /// `FIELD is VALUE; accepted: RANGE`.
    public var description: String { "\(field) is \(value); accepted: \(accepted)" }
}

/// A worker configuration that cannot be used: every field that is out of range, with the
/// range. The host (sergeant-worker, and so sergeant-host's exit code 7) and the `sergeant`
/// command line both refuse such a plugin with it, through ``WorkerConfig/validate()``.
public struct InvalidConfiguration: Error, Sendable, Hashable, CustomStringConvertible {
    /// The fields out of range, in the order of the document.
    public let problems: [ConfigurationProblem]

    /// Creates the error.
    public init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    /// The names of the fields out of range.
    public var fields: [String] { problems.map(\.field) }

    /// Each problem, and what to do.
    public var description: String {
        problems.map(\.description).joined(separator: "; ") + " (fix the worker's generateConfig)"
    }
}

extension WorkerConfig {
    /// The longest queue name, in UTF-8 bytes: every key of the queue is its name and a suffix.
    public static let maximumNameLength = 256
    /// The most tasks pulled in one round trip.
    public static let maximumTasksPerTransaction = 100_000
    /// The most executor threads.
    public static let maximumNumberOfThreads = 1024
    /// The largest `max_concurrent_tasks`: tasks one worker process keeps running at once.
    public static let maximumConcurrentTasks = 100_000
    /// The largest max_task_size: Redis's largest bulk string (proto-max-bulk-len), 512 MiB.
    public static let maximumTaskSizeLimit = 512 << 20
    /// The longest timeout, starvation time or grace period, in seconds (a year): longer ones
    /// are mistakes, and far longer ones overflow a clock's nanoseconds.
    public static let maximumSeconds: Double = 365 * 24 * 3600

    /// Throws ``InvalidConfiguration`` naming every field out of range; the one check the host
    /// and the command line run on a plugin's configuration.
    public func validate() throws(InvalidConfiguration) {
        var problems = rangeProblems()
        // Checks added to problems() that the ranges above do not cover yet.
        if problems.isEmpty {
            problems = self.problems().map { sentence in
                let field = String(sentence.prefix { $0 != " " })
                return ConfigurationProblem(field: field, value: String(sentence.dropFirst(field.count + 1)), accepted: "see the field's documentation")
            }
        }
        guard problems.isEmpty else { throw InvalidConfiguration(problems: problems) }
    }

    /// Every field outside its accepted range.
    public func rangeProblems() -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        func check(_ field: String, _ value: Int, _ range: ClosedRange<Int>, _ accepted: String) {
            if !range.contains(value) { problems.append(ConfigurationProblem(field: field, value: "\(value)", accepted: accepted)) }
        }
        func check(_ field: String, seconds value: Double, minimum: Double = 0, _ accepted: String) {
            if !(value.isFinite && value >= minimum && value <= Self.maximumSeconds) {
                problems.append(ConfigurationProblem(field: field, value: "\(value)", accepted: accepted))
            }
        }
        let nameBytes = name.utf8.count
        if nameBytes == 0 || nameBytes > Self.maximumNameLength {
            problems.append(ConfigurationProblem(field: "name", value: nameBytes == 0 ? "empty" : "\(nameBytes) bytes long",
                                                 accepted: "1 to \(Self.maximumNameLength) bytes of UTF-8; it names the worker's queue"))
        } else if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            problems.append(ConfigurationProblem(field: "name", value: Self.quoted(name),
                                                 accepted: "no control characters (they break keys and log lines)"))
        }
        problems += connector.rangeProblems()
        check("max_tasks_per_run", maxTasksPerRun, 0...Int.max, "0 (run forever) or more")
        check("max_retries", maxRetries, 0...Int.max, "0 (unlimited) or more")
        check("tasks_per_transaction", tasksPerTransaction, 1...Self.maximumTasksPerTransaction,
              "1 to \(Self.maximumTasksPerTransaction)")
        check("number_of_threads", numberOfThreads, 1...Self.maximumNumberOfThreads, "1 to \(Self.maximumNumberOfThreads)")
        check("max_concurrent_tasks", maxConcurrentTasks, 0...Self.maximumConcurrentTasks,
              "0 (no async executor) to \(Self.maximumConcurrentTasks)")
        let year = "0 to \(Int(Self.maximumSeconds)) seconds (a year)"
        check("timeouts.timeout", seconds: timeouts.timeout, year + ", 0 meaning no limit")
        check("timeouts.grace_period", seconds: timeouts.gracePeriod, year)
        if let starvation {
            if !(starvation.timeWithNoTasks > 0) || !starvation.timeWithNoTasks.isFinite || starvation.timeWithNoTasks > Self.maximumSeconds {
                problems.append(ConfigurationProblem(field: "starvation.time_with_no_tasks", value: "\(starvation.timeWithNoTasks)",
                                                     accepted: "more than 0, up to \(Int(Self.maximumSeconds)) seconds (a year)"))
            }
        }
        check("max_deaths", maxDeaths, 0...Int.max, "0 (never set a task aside) or more")
        check("max_task_size", maxTaskSize, 0...Self.maximumTaskSizeLimit,
              "0 (no limit) to \(Self.maximumTaskSizeLimit) bytes (512 MiB, Redis's largest string)")
        return problems
    }

    /// `"text"` with escapes, at most 60 characters of it.
    static func quoted(_ text: String) -> String {
        let shown = text.count > 60 ? String(text.prefix(60)) + "..." : text
        return "\"" + shown.unicodeScalars.map { $0.escaped(asASCII: true) }.joined() + "\""
    }
}

extension ConnectorConfig {
    /// The connector's parameters out of range (a redis connector without nodes is the
    /// connector's own check, when it is opened).
    func rangeProblems() -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        for (index, node) in (params.nodes ?? []).enumerated() {
            let field = "connector.params.nodes[\(index)]"
            if node.host.isEmpty || node.host.utf8.count > 253 {
                problems.append(ConfigurationProblem(field: field + ".host", value: node.host.isEmpty ? "empty" : "\(node.host.utf8.count) bytes long",
                                                     accepted: "a host name or address of 1 to 253 bytes"))
            }
            if !(1...65535).contains(node.port) {
                problems.append(ConfigurationProblem(field: field + ".port", value: "\(node.port)", accepted: "1 to 65535"))
            }
            if node.database < 0 {
                problems.append(ConfigurationProblem(field: field + ".database", value: "\(node.database)", accepted: "0 or more"))
            }
        }
        if let path = params.filePath, path.isEmpty {
            problems.append(ConfigurationProblem(field: "connector.params.file_path", value: "empty", accepted: "a file path"))
        }
        return problems
    }
}
