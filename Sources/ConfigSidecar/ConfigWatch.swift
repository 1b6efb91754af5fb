import Foundation
import Logging

/// Where the Tenant and its Secret come from: files (`FileSource`) or the API server
/// (`KubeSource`).
public protocol ConfigSource: Sendable {
    /// Fetches what `load` needs when it is not at hand (the API: one list of each object).
    func prepare() async throws(SourceError)
    /// Renders from what the source holds now.
    func load() throws(SourceError) -> TenantConfig
    /// Starts following the source; the stream yields (the time it was noticed) after each change
    /// that may alter the render, and ends when `stop` is called. Returns once `load` can be
    /// called (files: watching; the API: listed), so that no change between the two is lost.
    func follow() async throws(SourceError) -> (changes: AsyncStream<ContinuousClock.Instant>, stop: @Sendable () -> Void)
}

extension ConfigSource {
    public func prepare() async throws(SourceError) {}
}

/// What `validate` and `watch` share: render from the sources, refuse without credentials,
/// write atomically.
public struct ConfigWriter: Sendable {
    public var source: any ConfigSource
    public var output: String
    public var log: @Sendable (String) -> Void

    public init(source: any ConfigSource, output: String, log: @escaping @Sendable (String) -> Void) {
        self.source = source
        self.output = output
        self.log = log
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        /// A source cannot be read or understood (exit 2: MinIO's validator panics here).
        case source(SourceError)
        /// The Secret's `config.env` lacks the root user or password (exit 1).
        case missingCredentials
        /// The output cannot be written (exit 1; MinIO only logs it and starts without a file).
        case write(SourceError)

        public var description: String {
            switch self {
            case .source(let e), .write(let e): return e.message
            case .missingCredentials: return TenantConfig.missingCredentials
            }
        }

        public var exitCode: Int32 {
            if case .source = self { return 2 }
            return 1
        }
    }

    /// Renders and, when the content differs from `previous`, writes. Returns the content now in
    /// the file and whether it was written.
    public func update(previous: String?) throws(Failure) -> (content: String, written: Bool) {
        let config: TenantConfig
        do {
            config = try source.load()
        } catch {
            throw .source(error)
        }
        guard config.credentialsFound else { throw .missingCredentials }
        if config.content == previous { return (config.content, false) }
        do {
            try AtomicFile.write(config.content, to: output, mode: 0o644)
        } catch {
            throw .write(error)
        }
        return (config.content, true)
    }
}

/// The long-running sidecar (MinIO's `sidecar` command): keeps `output` in step with the
/// Tenant and the Secret, exits when the credentials disappear
/// (as MinIO's does, so the kubelet restarts it and the pod's readiness drops), serves `/ready`.
public struct ConfigWatch: Sendable {
    public var writer: ConfigWriter
    public var readiness: ReadinessServer
    public var notifier: ChangeNotifier
    public var logger: Logger
    /// Called with the bound port once `/ready` is served.
    public var onListening: @Sendable (Int) async -> Void

    public init(writer: ConfigWriter, readiness: ReadinessServer, notifier: ChangeNotifier, logger: Logger,
                onListening: @escaping @Sendable (Int) async -> Void) {
        self.writer = writer
        self.readiness = readiness
        self.notifier = notifier
        self.logger = logger
        self.onListening = onListening
    }

    /// Runs until SIGTERM/SIGINT (returns normally) or a failure: missing credentials at any
    /// time, and at start an unreadable source or an unwritable output (throws).
    public func run() async throws(ConfigWriter.Failure) {
        // Follow before the first read, so a change between the two is not lost.
        let changes: AsyncStream<ContinuousClock.Instant>, stop: @Sendable () -> Void
        do {
            (changes, stop) = try await writer.source.follow()
        } catch {
            throw .source(error)
        }
        defer { stop() }
        let initial = try writer.update(previous: nil).content
        writer.log("wrote \(writer.output)")

        // The server runs beside the watch rather than under it: missing credentials end the
        // process at once (MinIO's `os.Exit(1)`), without a graceful server shutdown first.
        // SIGTERM/SIGINT shut the server down gracefully, which ends the watch.
        let readiness = self.readiness, logger = self.logger, onListening = self.onListening, log = writer.log
        let server = Task {
            defer { stop() }
            do {
                try await readiness.run(logger: logger, onListening: onListening)
                return nil as ConfigWriter.Failure?
            } catch {
                return ConfigWriter.Failure.write(SourceError("/ready server: \(error)"))
            }
        }
        var current = initial
        for await noticed in changes {
            do throws(ConfigWriter.Failure) {
                let (content, written) = try writer.update(previous: current)
                current = content
                guard written else { continue }
                let ms = Double((ContinuousClock.now - noticed).components.attoseconds) / 1e15
                log(String(format: "sources changed: rewrote %@ (%.1f ms after the event)", writer.output, ms))
                if !notifier.isEmpty { await notifier.notify(log: log) }
            } catch .missingCredentials {
                throw .missingCredentials
            } catch {
                // A half-updated or broken source: keep the last good file, as MinIO keeps its
                // file when a lister lookup fails.
                log("\(error); keeping the previous \(writer.output)")
            }
        }
        if let failure = await server.value { throw failure }
    }
}
