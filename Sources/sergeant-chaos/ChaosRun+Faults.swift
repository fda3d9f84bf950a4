import Foundation
import SergeantCore
import SergeantTestSupport

// MARK: - Faults

extension ChaosRun {
    func injectFaults() {
        guard settings.maxFaults > 0 else { return }
        // Every kind once first (in a seeded order), then any kind.
        var plan = FaultKind.allCases.filter(settings.kinds.contains).shuffled(using: &random)
        var nextFault = unixTime() + nextInterval()
        var idleSince: Double?
        var nextLook = 0.0
        while faults.count < settings.maxFaults && !interrupted && unixTime() < deadline {
            observe()
            if tally.distinct >= settings.tasks { break }
            // Tasks remain while some are queued or in flight; missing ones that are neither
            // (lost, or set aside) leave nothing to break.
            if unixTime() >= nextLook {
                nextLook = unixTime() + 0.5
                if let counts = redisCounts(), counts.queued + counts.delayed + counts.inFlight + counts.timedOut == 0 {
                    idleSince = idleSince ?? unixTime()
                    if unixTime() - idleSince! >= 2 { break }
                } else {
                    idleSince = nil
                }
            }
            if unixTime() >= nextFault {
                let kind = plan.isEmpty ? randomKind() : plan.removeFirst()
                if inject(kind) {
                    nextFault = unixTime() + nextInterval()
                } else {
                    if plan.isEmpty || plan.first != kind { plan.insert(kind, at: 0) }
                    nextFault = unixTime() + 0.1
                }
            }
            pause(seconds: 0.02)
        }
        say("fault phase over: \(faults.count) fault(s); \(tally.distinct)/\(settings.tasks) tasks done, waiting for the queue to drain")
    }

    private func nextInterval() -> Double {
        Double.random(in: settings.minInterval...settings.maxInterval, using: &random)
    }

    /// A kind asked for, chosen by ``ChaosSettings/weights`` (by default half worker kills, a
    /// quarter each for the others).
    private func randomKind() -> FaultKind {
        let weighted = settings.kinds.flatMap { kind in Array(repeating: kind, count: settings.weights[kind] ?? 1) }
        return weighted.randomElement(using: &random) ?? settings.kinds[0]
    }

    /// Reads progress, and restarts a supervisor that ended without being told to.
    func observe() {
        tally.update()
        if frontierSamples.last?.highest != tally.highest { frontierSamples.append((unixTime(), tally.highest)) }
        guard let host, !host.isRunning else { return }
        let code = host.wait(timeout: 1) ?? -1
        unexpectedHostExits += 1
        anomaly("sergeant-host \(host.pid) exited by itself with code \(code) (log \(host.outputPath))")
        guard unexpectedHostExits <= 5, !interrupted else { self.host = nil; return }
        do { try startHost() } catch { anomaly("cannot restart sergeant-host: \(error)"); self.host = nil }
    }

    func anomaly(_ text: String) {
        anomalies.append(text)
        say("ANOMALY: \(text)")
    }

    /// Injects one fault; false when it cannot be injected now (no live worker yet).
    private func inject(_ kind: FaultKind) -> Bool {
        let at = elapsed
        let before = "\(tally.distinct)/\(settings.tasks) done, queue \(length(queue).map(String.init) ?? "?")"
        let detail: String
        switch kind {
        case .workerKill:
            let candidates = liveWorkers()
            guard let victim = candidates.randomElement(using: &random) else { return false }
            kill(victim, SIGKILL)
            detail = "SIGKILL worker \(victim) (one of \(candidates.count))"
        case .supervisorKill:
            guard let old = host else { return false }
            let workers = liveWorkers()
            old.signal(SIGKILL)
            old.wait(timeout: 10)
            // PR_SET_PDEATHSIG: its workers (even one spawned a moment ago) must die with it.
            let limit = unixTime() + 5
            var survivors = ProcessTable.carrying(hostEnvironmentToken)
            while !survivors.isEmpty && unixTime() < limit {
                pause(seconds: 0.02)
                survivors = ProcessTable.carrying(hostEnvironmentToken)
            }
            for pid in survivors {
                anomaly("process \(pid) (a worker) outlived its SIGKILLed supervisor \(old.pid) by 5 s; killing it")
                kill(pid, SIGKILL)
            }
            do { try startHost() } catch {
                anomaly("cannot start a new sergeant-host: \(error)")
                host = nil
            }
            detail = "SIGKILL supervisor \(old.pid) (\(workers.count) live worker(s) die with it); new supervisor \(host?.pid ?? 0)"
        case .redisRestart:
            guard let server = redis else { return false }
            let stopStarted = unixTime()
            if !server.stop(timeout: 30) {
                anomaly("redis-server did not stop within 30 s of SIGTERM; it was killed")
            }
            let stopTook = unixTime() - stopStarted
            restartOffsets.append(AppendOnlyFile(directory: dataDirectory).size)
            let down = Double.random(in: 0...settings.redisDowntime, using: &random)
            pause(seconds: down)
            do {
                try startRedis()
            } catch {
                anomaly("redis-server did not come back: \(error)")
            }
            if let reply = try? command("GET", "\(queue).chaos-marker"), reply != .bytes(Array(marker.utf8)) {
                anomaly("redis-server lost its data over the restart (marker key is \(reply))")
            }
            detail = String(format: "restart redis-server (stop took %.2f s, down %.2f s more)", stopTook, down)
        case .masterKill:
            if let group {
                detail = failover(group)
            } else {
                guard let detailed = clusterFailover() else { return false }
                detail = detailed
            }
        }
        let record = FaultRecord(number: faults.count + 1, kind: kind, time: at, detail: detail)
        faults.append(record)
        say("fault \(record.number)/\(settings.maxFaults): \(detail) [before: \(before)]")
        return true
    }


    /// SIGKILLs one of the cluster's masters, waits for its replica's promotion and starts the
    /// killed server again (it comes back as its replica's replica: its nodes.conf is kept);
    /// nil when the cluster has not 3 masters now.
    private func clusterFailover() -> String? {
        guard let cluster, let masters = try? cluster.masters(), masters.count == 3,
              let victim = masters.randomElement(using: &random) else { return nil }
        let started = unixTime()
        victim.kill()
        do {
            try cluster.waitForFailover(of: victim, masters: 3)
            let promoted = unixTime() - started
            try victim.start()
            try cluster.waitUntilHealthy(timeout: 60)
            return String(format: "SIGKILL master %d (a replica took over after %.2f s; it is back as a replica)", victim.port, promoted)
        } catch {
            anomaly("the cluster did not recover from the SIGKILL of master \(victim.port): \(error)")
            return "SIGKILL master \(victim.port) (no recovery)"
        }
    }
    /// SIGKILLs the master, waits for the sentinels to promote the replica, and starts the
    /// killed server again as the new replica (the next failover needs one).
    private func failover(_ group: SentinelGroup) -> String {
        let killedAt = unixTime()
        do {
            let killed = try group.killMaster()
            let promoted = try group.waitForFailover(from: killed)
            let promotedAfter = unixTime() - killedAt
            try group.restart(port: killed)
            if let reply = try? command("GET", "\(queue).chaos-marker"), reply != .bytes(Array(marker.utf8)) {
                anomaly("the promoted replica lacks the data of the master (marker key is \(reply))")
            }
            return String(format: "SIGKILL master on port %d; the sentinels promoted port %d after %.2f s; %d is its replica again after %.2f s",
                          killed, promoted, promotedAfter, killed, unixTime() - killedAt)
        } catch {
            anomaly("failover: \(error)")
            return "SIGKILL master: \(error)"
        }
    }

    /// Workers of the current supervisor that are alive now.
    private func liveWorkers() -> [pid_t] {
        guard let host else { return [] }
        let spawned = host.output.split(separator: "\n").compactMap { line -> pid_t? in
            guard line.contains("spawned worker ") else { return nil }
            return line.split(separator: " ").last.flatMap { pid_t($0) }
        }
        return Array(Set(spawned)).sorted().filter { pid in
            guard let status = ProcessTable.status(of: pid) else { return false }
            return status.running && status.parent == host.pid
        }
    }
}
