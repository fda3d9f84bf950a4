import Sergeant

/// A worker that probes the SDK's side of the ABI growth rule: it logs in `init`, before
/// the host is attached (the line must not be lost), logs with swift-log metadata (through
/// `log_with_metadata` on a 1.1 host, appended to the message by `log` on a 1.0 host), and
/// on `{"action": "lock"}` takes a lock (a host without `lock_acquire` must fail the task
/// with a message naming it).
final class ABIProbe: Sergeant.Worker {
    required init() {
        super.init()
        logger.info("abi probe: created before the host was attached")
    }

    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "abi_probe", connector: .redis(nodes: [RedisNode()]),
                     logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        var logger = self.logger
        logger[metadataKey: "phase"] = "work"
        logger.info("abi probe: working", metadata: ["n": "\(task.kwargs["n"]?.description ?? "-")"])
        if task.kwargs["action"]?.stringValue == "lock" {
            let taken = try lock("abi-probe").acquire(timeout: 1, checkInterval: 0.05, ttl: 5)
            logger.info("abi probe: lock taken=\(taken)")
        }
    }
}
