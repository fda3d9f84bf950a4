import Foundation
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - Draining

extension ChaosRun {
    /// The in-flight picture: (queued, delayed, in flight, in-flight lists, timed out, dead).
    func redisCounts() -> (queued: Int, delayed: Int, inFlight: Int, lists: Int, timedOut: Int, dead: Int)? {
        let keys = KeySpace(queue: queue)
        guard let queued = length(queue).flatMap({ main in length(keys.recovered).map { main + $0 } }),
              let delayed = delayedCount(queue), let timedOut = length(keys.timedOut), let dead = length(keys.dead),
              let records = inFlightRecords() else { return nil }
        let held = records.filter { !$0.items.isEmpty }
        return (queued, delayed, held.reduce(0) { $0 + $1.items.count }, held.count, timedOut, dead)
    }

    /// Waits until every task ran and nothing is queued or in flight, or until the
    /// deadline; a quiet queue with tasks still missing ends the wait too (they are lost).
    func waitUntilDrained() {
        var quietSince: Double?
        var lastReport = unixTime()
        var lastPicture = ""
        while !interrupted && unixTime() < deadline {
            observe()
            let counts = redisCounts()
            let picture = counts.map { "queued \($0.queued), delayed \($0.delayed), in flight \($0.inFlight) in \($0.lists) list(s),"
                + " timed out \($0.timedOut), dead \($0.dead)" } ?? (isLocal ? "the queue file cannot be read" : "redis unreachable")
            if let counts, counts.queued == 0, counts.delayed == 0, counts.inFlight == 0, counts.timedOut == 0 {
                let since = quietSince ?? unixTime()
                quietSince = since
                let everything = tally.distinct >= settings.tasks && counts.dead >= 1
                // Two quiet seconds when everything is accounted for; ten when something is
                // missing (a worker may be between taking a dead worker's tasks and requeueing them).
                if unixTime() - since >= (everything ? 2 : 10) {
                    drained = true
                    say("drained: \(tally.distinct)/\(settings.tasks) tasks done; \(picture)")
                    return
                }
            } else {
                quietSince = nil
            }
            if unixTime() - lastReport >= 5 && picture != lastPicture {
                say("waiting: \(tally.distinct)/\(settings.tasks) tasks done; \(picture)")
                lastReport = unixTime()
                lastPicture = picture
            }
            pause(seconds: 0.2)
        }
        say(interrupted ? "interrupted while waiting for the queue to drain"
            : "timed out after \(Int(settings.timeout)) s waiting for the queue to drain")
    }

    // MARK: Stopping

    /// SIGTERM to the supervisor (a clean stop), then the stragglers.
    func stopHost() {
        guard let host else { return }
        host.signal(SIGTERM)
        let code = host.wait(timeout: 30)
        if code == nil {
            anomaly("sergeant-host \(host.pid) did not stop within 30 s of SIGTERM; killing it")
            host.signal(SIGKILL)
            host.wait(timeout: 10)
        } else if code != 0 {
            anomaly("sergeant-host \(host.pid) stopped with exit code \(code!) after SIGTERM")
        }
        self.host = nil
        pause(seconds: 0.5)
        for pid in ProcessTable.carrying(hostEnvironmentToken) {
            anomaly("process \(pid) of this run still runs after its supervisor stopped; killing it")
            kill(pid, SIGKILL)
        }
    }

    /// Stops everything this run started, whatever happened.
    func cleanUp(success: Bool) {
        if let host, host.isRunning {
            host.signal(SIGTERM)
            if host.wait(timeout: 20) == nil {
                host.signal(SIGKILL)
                host.wait(timeout: 10)
            }
        }
        host = nil
        for _ in 0..<3 {
            let stragglers = ProcessTable.carrying(hostEnvironmentToken)
            if stragglers.isEmpty { break }
            stragglers.forEach { kill($0, SIGKILL) }
            pause(seconds: 0.2)
        }
        status = nil
        local = nil
        clusterConnector = nil
        cluster = nil
        redis?.stop(timeout: 30)
        redis = nil
        group?.stop()
        group = nil
        if success && !settings.keep && settings.workDir == nil {
            try? FileManager.default.removeItem(atPath: directory)
        } else {
            print("kept the work directory: \(directory) (redis data, host-N.log, redis-N.log, output.txt)")
        }
    }
}
