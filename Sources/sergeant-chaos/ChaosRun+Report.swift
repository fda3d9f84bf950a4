import Foundation
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - Report

extension ChaosRun {
    /// What a task stored in redis is.
    private enum Stored {
        case number(Int)
        case poison
        case unreadable
    }

    private func classify(_ item: [UInt8]) -> Stored {
        let encoder = EncoderConfig().taskEncoder
        guard let bytes = try? encoder.decodeToMessagePack(item), let task = try? SergeantTask(messagePack: bytes) else { return .unreadable }
        if task.kwargs["poison"]?.boolValue == true { return .poison }
        return task.kwargs["n"]?.intValue.map { .number($0) } ?? .unreadable
    }

    /// Prints the summary (where the lost tasks are, the faults near them, their AOF trace,
    /// the host logs' warnings) and returns the exit code.
    func report() -> Int32 {
        tally.update()
        // Where every task is in redis now.
        var locations: [Int: Location] = [:]
        var poisonAt: [Location] = []
        func place(_ item: [UInt8], _ location: Location) {
            switch classify(item) {
            case .number(let n): locations[n] = locations[n] ?? location
            case .poison: poisonAt.append(location)
            case .unreadable: break
            }
        }
        list(queue).forEach { place($0, .queue) }
        list(KeySpace(queue: queue).recovered).forEach { place($0, .queue) }
        for record in inFlightRecords() ?? [] { record.items.forEach { place($0, .processing) } }
        var deadReasons: [String: Int] = [:]
        var deadNumbers: [Int] = []
        var deadOther = 0
        let deadEntries = list(KeySpace(queue: queue).dead)
        for entry in deadEntries {
            guard let value = try? MessagePack.decode(entry), let stored = value["task"]?.bytesValue else {
                deadOther += 1
                continue
            }
            deadReasons[value["reason"]?.stringValue ?? "?", default: 0] += 1
            switch classify(stored) {
            case .number(let n):
                deadNumbers.append(n)
                locations[n] = locations[n] ?? .dead
            case .poison: poisonAt.append(.dead)
            case .unreadable: deadOther += 1
            }
        }
        let missing = tally.missing
        let lost = setupFailure == nil ? missing.count : settings.tasks
        let deadPoison = poisonAt.filter { $0 == .dead }.count
        let final = redisCounts()

        print("")
        print("== chaos summary (seed \(settings.seed))")
        if let setupFailure { print("setup:      FAILED: \(setupFailure)") }
        print("pushed:     \(settings.tasks) numbered + 1 poison")
        print("processed:  \(tally.distinct) distinct")
        if setupFailure == nil && lost > 0 {
            let places = Dictionary(grouping: missing) { locations[$0] ?? .nowhere }
            let parts = [Location.nowhere, .dead, .queue, .processing].compactMap { place in
                places[place].map { "\($0.count) \(place.rawValue)" }
            }
            print("lost:       \(lost) (\(parts.joined(separator: ", ")))")
        } else {
            print("lost:       \(lost)")
        }
        print("duplicated: \(tally.duplicated) (extra runs)")
        print("dead:       \(deadEntries.count) (poison \(deadPoison), numbered \(deadNumbers.count), other \(deadOther))")
        let byKind = FaultKind.allCases.map { kind in "\(kind.rawValue) \(faults.filter { $0.kind == kind }.count)" }
        print("faults:     \(faults.count) (\(byKind.joined(separator: ", ")))")
        print((isLocal ? "file:       " : "redis:      ") + (final.map { "queued \($0.queued), delayed \($0.delayed), in flight \($0.inFlight), timed out \($0.timedOut)" } ?? "unreachable"))
        print(String(format: "elapsed:    %.1f s", elapsed))
        print("anomalies:  \(anomalies.count)")
        for text in anomalies { print("  - \(text)") }
        if !tally.invalid.isEmpty { print("  - output lines that are not task numbers: \(tally.invalid)") }

        if !missing.isEmpty && setupFailure == nil {
            print("lost tasks, in runs of consecutive numbers (where they are in redis now; the faults nearest"
                  + " to when the workers reached them):")
            for run in runs(of: missing).prefix(30) {
                let places = Set(run.map { locations[$0] ?? .nowhere }).map(\.rawValue).sorted().joined(separator: ", ")
                let text = run.count == 1 ? "\(run[0])" : "\(run.first!)-\(run.last!)"
                print("  \(text) (\(run.count)): \(places); \(suspects(for: run.first!))")
            }
            if runs(of: missing).count > 30 { print("  ... \(runs(of: missing).count - 30) more runs") }
            printTrace(of: runs(of: missing).prefix(10).map { $0[0] })
        }
        if !deadNumbers.isEmpty {
            let ran = deadNumbers.filter { tally.runs[$0] > 0 }.count
            print("numbered tasks in the dead-letter list: \(deadNumbers.count) (\(ran) of them had run): "
                  + runs(of: deadNumbers.sorted()).prefix(10).map { $0.count == 1 ? "\($0[0])" : "\($0.first!)-\($0.last!)" }.joined(separator: ", "))
        }
        if !deadReasons.isEmpty {
            for (reason, count) in deadReasons.sorted(by: { $0.value > $1.value }) { print("dead-letter reason (\(count)): \(reason)") }
        }
        printLogNotes()

        var failures: [String] = []
        if setupFailure != nil { failures.append("the run could not be set up") }
        if lost > 0 { failures.append("\(lost) task(s) lost") }
        if deadEntries.count != 1 || deadPoison != 1 {
            failures.append("the dead-letter list holds \(deadEntries.count) entries, expected exactly the poison task")
        }
        if !drained && setupFailure == nil { failures.append("the queue did not drain (queued or in-flight tasks left: a hang)") }
        if interrupted { failures.append("interrupted") }
        print("result:     " + (failures.isEmpty ? "PASS" : "FAIL: " + failures.joined(separator: "; ")))
        if !failures.isEmpty { print("repeat:     sergeant-chaos --connector \(settings.connector) --broker \(settings.broker.rawValue) --durability \(settings.durability) --seed \(settings.seed) --tasks \(settings.tasks) --workers \(settings.workers)"
                                     + " --batch \(settings.batch) --async \(settings.concurrentTasks) --faults \(settings.maxFaults) --min-interval \(settings.minInterval)"
                                     + " --max-interval \(settings.maxInterval) --redis-downtime \(settings.redisDowntime)"
                                     + " --fault-kinds \(settings.kinds.map(\.option).joined(separator: ","))") }
        fflush(nil)
        if setupFailure != nil { return 2 }
        return failures.isEmpty ? 0 : 1
    }

    /// Consecutive numbers grouped.
    private func runs(of numbers: [Int]) -> [[Int]] {
        var result: [[Int]] = []
        for n in numbers {
            if let last = result.last?.last, last + 1 == n { result[result.count - 1].append(n) } else { result.append([n]) }
        }
        return result
    }

    /// The faults injected within a few seconds of the moment the workers first reached `n`.
    private func suspects(for n: Int) -> String {
        guard let reached = frontierSamples.first(where: { $0.highest >= n }) else { return "the workers never got that far" }
        let at = reached.time - started
        let near = faults.filter { $0.time >= at - 5 && $0.time <= at + 2 }
            .sorted { abs($0.time - at) < abs($1.time - at) }.prefix(3).sorted { $0.time < $1.time }
        let when = String(format: "reached at %.1f s", at)
        guard !near.isEmpty else { return "\(when), no fault within 5 s before" }
        return "\(when); " + near.map { String(format: "fault %d (%@) at %.1f s", $0.number, $0.kind.rawValue, $0.time) }.joined(separator: ", ")
    }

    /// What redis did with each of `numbers`, from its append-only file: the last write that
    /// carried the task, and the next write to the list it went to.
    private func printTrace(of numbers: [Int]) {
        let aof = AppendOnlyFile(directory: dataDirectory)
        let commands = aof.commands { item in
            // A dead-letter entry carries the task's bytes under "task".
            let task = (try? MessagePack.decode(item))?["task"]?.bytesValue ?? item
            switch self.classify(task) {
            case .number(let n): return .numbered(n)
            case .poison: return .other
            case .unreadable: return .none
            }
        }
        guard !commands.isEmpty else { return }
        let restarts = restartOffsets.map { offset in commands.firstIndex { $0.offset >= offset } ?? commands.count }
        func restartsBetween(_ from: Int, _ to: Int) -> String {
            restarts.enumerated().filter { $0.element > from && $0.element <= to }
                .map { " [redis restart \($0.offset + 1)]" }.joined()
        }
        print("AOF trace of lost tasks (redis writes that carried the task, oldest first; #N is the N-th write in \(aof.directory)):")
        for n in numbers {
            let writes = commands.indices.filter { commands[$0].tasks.contains(n) }
            guard let last = writes.last else {
                print("  \(n): never written to redis (?)")
                continue
            }
            var text = "  \(n):"
            var previous: Int?
            for index in writes.suffix(8) {
                if let previous { text += restartsBetween(previous, index) + " ->" }
                text += " #\(index) \(commands[index].summary)"
                previous = index
            }
            // What became of the in-flight list the task was last put in.
            let command = commands[last]
            let destination = ["LMOVE", "BLMOVE", "RPOPLPUSH"].contains(command.name) ? command.words.dropFirst().first : command.words.first
            if let key = destination, key.hasPrefix(KeySpace(queue: queue).processing("")),
               let next = commands[(last + 1)...].firstIndex(where: { $0.words.contains(key) }) {
                let crossed = restartsBetween(last, next)
                text += crossed + " -> next write to that list: #\(next) \(commands[next].summary)"
                if !crossed.isEmpty && commands[next].name == "DEL" && tally.runs[n] == 0 {
                    text += " (the batch was in flight across a redis restart and its list was cleared without the task running)"
                }
            }
            print(text)
        }
    }

    /// Error lines of the supervisors and workers, grouped with digits masked.
    private func printLogNotes() {
        var groups: [String: Int] = [:]
        for index in 1...max(hostStarts, 1) {
            guard let text = try? String(contentsOfFile: "\(directory)/host-\(index).log", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.contains(" ERROR ") || line.contains(" CRITICAL ") || line.contains(" WARNING ") {
                // Drop the date, time, name and pid columns; mask numbers.
                let message = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true).last.map(String.init) ?? String(line)
                var masked = String(message.map { $0.isNumber ? "#" : $0 })
                while masked.contains("##") { masked = masked.replacingOccurrences(of: "##", with: "#") }
                groups[masked, default: 0] += 1
            }
        }
        guard !groups.isEmpty else { return }
        print("host log warnings and errors (digits masked):")
        for (message, count) in groups.sorted(by: { $0.value > $1.value }).prefix(15) {
            print(String(format: "  %5d  ", count) + String(message.prefix(200)))
        }
    }
}
