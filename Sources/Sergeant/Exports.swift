public import Logging
public import SergeantCore

// MARK: - What `import Sergeant` gives a plugin

// A plugin sees the names below and the SDK's own public types (Worker, Lock,
// WorkerInterrupt, WorkerError, HostFunctionUnavailable, exportWorkers), nothing else: the
// libraries behind the SDK are imported, not re-exported (Swift has no selective
// `@_exported`), so their other public names (and everything they declare `package`: msgpack,
// the log format, the host's helpers) stay out of a plugin's namespace. The codecs are not
// even linked: they live in SergeantCompression, which only the broker, the host and the
// command line link. A name added here is a promise to every plugin author.

// MARK: Tasks and values

/// A task as Python sergeant passes it: kwargs, trace id, date and run count.
public typealias SergeantTask = SergeantCore.SergeantTask
/// One msgpack value (nil, bool, integers, floats, strings, bytes, arrays, ordered maps).
public typealias Value = SergeantCore.Value
/// An ordered map of values: a task's kwargs.
public typealias ValueMap = SergeantCore.ValueMap
/// Where a pushed task goes in its queue.
public typealias TaskPriority = SergeantCore.TaskPriority
/// `Encodable` to ``Value`` (`Value(encoding:)` uses it).
public typealias ValueEncoder = SergeantCore.ValueEncoder
/// ``Value`` to `Decodable` (`task.kwargs.decode(_:)` uses it).
public typealias ValueDecoder = SergeantCore.ValueDecoder
/// Bytes that are not a task (`SergeantTask(messagePack:)`).
public typealias TaskDecodingError = SergeantCore.TaskDecodingError
/// Bytes that are not msgpack (`Value(messagePack:)`).
public typealias MessagePackError = SergeantCore.MessagePackError

// MARK: Configuration

/// What ``Worker/generateConfig()`` returns: sergeant's worker configuration.
public typealias WorkerConfig = SergeantCore.WorkerConfig
/// The broker: `.redis(nodes:)` or `.local(filePath:)`.
public typealias ConnectorConfig = SergeantCore.ConnectorConfig
/// One Redis server of the connector.
public typealias RedisNode = SergeantCore.RedisNode
/// How tasks are stored: serializer and compressor.
public typealias EncoderConfig = SergeantCore.EncoderConfig
/// msgpack or JSON.
public typealias Serializer = SergeantCore.Serializer
/// The name of a compression format (the host compresses; a plugin only names one).
public typealias Compressor = SergeantCore.Compressor
/// The task timeout and its grace period.
public typealias Timeouts = SergeantCore.Timeouts
/// When ``Worker/onStarvation(timeWithNoTasks:)`` is called.
public typealias Starvation = SergeantCore.Starvation
/// The worker's log level, destination and events.
public typealias LoggingConfig = SergeantCore.LoggingConfig
/// Which outcomes the host logs.
public typealias LoggingEvents = SergeantCore.LoggingEvents
/// Log levels with Python's numbers.
public typealias LogLevel = SergeantCore.LogLevel
/// How log lines are written: sergeant's line or JSON.
public typealias LogFormat = SergeantCore.LogFormat

// MARK: Logging

/// swift-log's logger, the type of ``Worker/logger`` (metadata included).
public typealias Logger = Logging.Logger
