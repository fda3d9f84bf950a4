import Foundation
import SergeantTestSupport

// MARK: - PeerTools

/// The programs and scripts of the peer task queues (`make bench` installs them): Ruby and
/// the `sidekiq` CLI of Debian's ruby-sidekiq, and a Python with RQ and Dramatiq pinned from
/// PyPI (.venv-peers), running the scripts of bench/peers.
struct PeerTools {
    let ruby: String
    let sidekiq: String
    let python: String
    /// bench/peers, absolute.
    let directory: String

    init(options: RunBench, benchDirectory: String, absolute: (String) -> String) throws {
        func program(_ name: String, _ what: String) throws -> String {
            let path = name.contains("/") ? absolute(name) : ((try? which(name)) ?? name)
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw SupportError("\(what) is missing (\(name)); run `make bench`, which installs it, or pass --no-peers")
            }
            return path
        }
        ruby = try program(options.ruby, "ruby (Debian's ruby-sidekiq brings it)")
        sidekiq = try program(options.sidekiq, "the sidekiq CLI (Debian's ruby-sidekiq)")
        python = try program(options.peerPython, "a Python with rq and dramatiq (.venv-peers)")
        directory = benchDirectory + "/peers"
        for script in ["sidekiq_bench.rb", "rq_bench.py", "rq_jobs.py", "dramatiq_bench.py", "peer_report.py"]
        where !FileManager.default.fileExists(atPath: directory + "/" + script) {
            throw SupportError("bench/peers/\(script) is missing at \(directory); run the benchmark from the repository root")
        }
    }

    /// The command that pushes (`push`, timed) or fills (`fill`, untimed) `tasks` jobs.
    func producer(_ system: System, action: String, mode: String, tasks: Int) -> [String] {
        // Dramatiq has no bulk enqueue: its script sends one by one in either mode.
        let arguments = [action, "--mode", system == .dramatiq ? "one" : mode, "--tasks", String(tasks)]
        switch system {
        case .sidekiq: return [ruby, directory + "/sidekiq_bench.rb"] + arguments
        case .rq: return [python, directory + "/rq_bench.py"] + arguments
        default: return [python, directory + "/dramatiq_bench.py"] + arguments
        }
    }

    /// The command of one worker process with `threads` threads (Sidekiq's concurrency,
    /// Dramatiq's --threads; nil: the peer's default).
    func worker(_ system: System, queue: String, threads: Int?) -> [String] {
        switch system {
        case .sidekiq:
            return [sidekiq, "-r", directory + "/sidekiq_bench.rb", "-q", queue] + (threads.map { ["-c", String($0)] } ?? [])
        case .rq:
            return [python, directory + "/rq_bench.py", "work"]
        default:
            return [python, "-m", "dramatiq", "dramatiq_bench", "--processes", "1"] + (threads.map { ["--threads", String($0)] } ?? [])
        }
    }

    /// Versions for the table's header: what the packages say they are.
    func versions() -> [System: String] {
        func run(_ arguments: [String]) -> String {
            ((try? Spawned.run(arguments, timeout: 60)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let sidekiqVersion = run([ruby, "-rsidekiq", "-e", "print Sidekiq::VERSION, ' ', RUBY_VERSION"]).split(separator: " ")
        let debian = run(["dpkg-query", "-W", "-f", "${Version}", "ruby-sidekiq"])
        let python = run([python, "-c", "import importlib.metadata as m, platform; "
            + "print(m.version('rq'), m.version('dramatiq'), m.version('redis'), platform.python_version())"]).split(separator: " ")
        func word(_ words: [Substring], _ index: Int) -> String { index < words.count ? String(words[index]) : "?" }
        return [
            .sidekiq: "Sidekiq \(word(sidekiqVersion, 0)) (Debian ruby-sidekiq \(debian), as apt gives it; Ruby \(word(sidekiqVersion, 1)))",
            .rq: "RQ \(word(python, 0)) (PyPI, pinned; redis-py \(word(python, 2)), CPython \(word(python, 3)))",
            .dramatiq: "Dramatiq \(word(python, 1)) (PyPI, pinned; redis-py \(word(python, 2)), CPython \(word(python, 3)))",
        ]
    }
}
