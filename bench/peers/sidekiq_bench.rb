# Sidekiq's side of `make bench`: a no-op job, pushed and worked through Sidekiq's own API.
#
#   ruby sidekiq_bench.rb push --mode one|bulk --tasks N   times Sidekiq::Client.push per job, or
#                                                          one Sidekiq::Client.push_bulk (one LPUSH);
#                                                          prints `seconds S vmhwm_kb K`
#   ruby sidekiq_bench.rb fill --tasks N                   push_bulk of N jobs, untimed
#   sidekiq -r ./sidekiq_bench.rb -q QUEUE -c THREADS      the worker: one Sidekiq process, its
#                                                          log at WARN (no start/done line per job)
#
# Settings come from the environment, as bench/peers/peer_report.py reads them: BENCH_REDIS_PORTS
# (the first port, on 127.0.0.1), BENCH_QUEUE, BENCH_TASKS (jobs the worker is to run) and
# BENCH_REPORT (the file the `done PID COUNT FIRST LAST KB` line is appended to).
require "sidekiq"
require "logger"

# redis-rb 4.8 warns on every SADD Sidekiq 6.4 sends with each push (about a return type it
# ignores); the warning is not Sidekiq's cost.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

module SidekiqBench
  KWARGS = { "some_parameter" => "one" }.freeze

  def self.setting(name, fallback)
    value = ENV.fetch(name, "")
    value.empty? ? fallback : value
  end

  def self.redis_url
    "redis://127.0.0.1:#{setting("BENCH_REDIS_PORTS", "6379").split(",").first}/0"
  end

  def self.queue
    setting("BENCH_QUEUE", "benchmark")
  end

  def self.peak_resident_kilobytes
    line = File.foreach("/proc/self/status").find { |text| text.start_with?("VmHWM:") }
    line ? line.split[1].to_i : 0
  rescue SystemCallError
    0
  end

  # Counts finished jobs (from any processor thread) and writes the `done` line at the last one.
  class Tally
    def initialize
      @lock = Mutex.new
      @count = 0
      @first = nil
      @last = 0.0
      @wanted = Integer(SidekiqBench.setting("BENCH_TASKS", "0"))
    end

    def started
      now = Process.clock_gettime(Process::CLOCK_REALTIME)
      @lock.synchronize { @first ||= now }
    end

    def finished
      now = Process.clock_gettime(Process::CLOCK_REALTIME)
      line = @lock.synchronize do
        @count += 1
        @last = now if now > @last
        next nil unless @count == @wanted

        "done #{Process.pid} #{@count} #{format("%.6f", @first)} #{format("%.6f", @last)} #{SidekiqBench.peak_resident_kilobytes}\n"
      end
      return unless line

      path = ENV.fetch("BENCH_REPORT", "")
      if path.empty?
        $stdout.write(line)
      else
        File.open(path, File::WRONLY | File::APPEND | File::CREAT, 0o644) { |file| file.syswrite(line) }
      end
    end
  end

  TALLY = Tally.new
end

Sidekiq.configure_client { |config| config.redis = { url: SidekiqBench.redis_url } }
Sidekiq.configure_server do |config|
  config.redis = { url: SidekiqBench.redis_url }
  config.logger.level = Logger::WARN
end

# The no-op job.
class NoopJob
  include Sidekiq::Worker

  def perform(kwargs)
    SidekiqBench::TALLY.started
    SidekiqBench::TALLY.finished
  end
end

if $PROGRAM_NAME == __FILE__
  require "optparse"
  action = ARGV.shift
  mode = "bulk"
  tasks = 0
  OptionParser.new do |parser|
    parser.on("--mode MODE", %w[one bulk]) { |value| mode = value }
    parser.on("--tasks N", Integer) { |value| tasks = value }
  end.parse!(ARGV)
  abort "sidekiq_bench.rb push|fill --mode one|bulk --tasks N" unless %w[push fill].include?(action)

  queue = SidekiqBench.queue
  Sidekiq.redis { |connection| connection.del("queue:#{queue}") } # also connects, outside the timed span
  start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  if action == "fill" || mode == "bulk"
    Sidekiq::Client.push_bulk("class" => NoopJob, "queue" => queue, "args" => Array.new(tasks) { [SidekiqBench::KWARGS] })
  else
    tasks.times { Sidekiq::Client.push("class" => NoopJob, "queue" => queue, "args" => [SidekiqBench::KWARGS]) }
  end
  seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - start
  puts "seconds #{seconds} vmhwm_kb #{SidekiqBench.peak_resident_kilobytes}" if action == "push"
end
