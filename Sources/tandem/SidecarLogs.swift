import ArgumentParser
import Foundation
import KubeAPI
import LogTailer
#if canImport(Glibc)
import Glibc
#endif

/// `tandem sidecar logs`: the seeds' `tail -F FILE | while read line; do echo "[PROCESSED] …"`
/// log forwarder, without its holes: lines are not lost across rename or copytruncate rotation
/// nor across a restart (`--state`), unfinished lines are held, files that do not exist yet are
/// waited for, and lines can go to an HTTP receiver instead of stdout.
struct SidecarLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Follow log files like `tail -F`, losing nothing, to stdout or an HTTP receiver.",
        discussion: """
            Files are followed by identity (device, inode and the hash of their first bytes), through \
            rename rotation (the old file is read to its end for --rotate-wait) and copytruncate (the \
            part not yet read is taken from the copy beside the file, e.g. FILE.1). Lines are written \
            whole; an unfinished last line waits for its newline. With --state, offsets are saved after \
            lines were written out, so a restart resumes without loss; only a batch written out just \
            before a crash (not a SIGTERM) can come out twice.

            --format fields: {time} (RFC 3339 UTC, seconds), {time_ns} (RFC 3339 UTC, nanoseconds), \
            {file}, {line}; presets: plain = {line}, processed = "[PROCESSED] {time} - {line}" (the \
            seed forwarder), cri = "{time_ns} {file} {line}".

            Exit status: 0 after SIGTERM/SIGINT (or --once) once everything read was written out; \
            1 when a path cannot be followed or lines cannot be delivered (also when, 5 s after \
            SIGTERM, what was read is still not all out, e.g. the HTTP receiver is down: the \
            offsets stay at the last line delivered); 2 on invalid arguments.
            """
    )

    @Argument(help: "Files or globs to follow. A file that does not exist yet is waited for; its directory must exist.")
    var paths: [String] = []

    @Option(help: "Output template for stdout (fields {time} {time_ns} {file} {line}), or a preset: plain, processed, cri.")
    var format: String = "plain"

    @Option(help: "Offsets file: resume here after a restart.")
    var state: String?

    @Option(help: "Where to start in files that exist at start and have no saved offset: head (read them whole) or end.")
    var from: String = "head"

    @Option(name: .customLong("rotate-wait"), help: "How long a rotated-away file is still read (Go duration).")
    var rotateWait: String = "5s"

    @Option(name: .customLong("rescan-interval"), help: "Periodic re-expansion of globs and re-check of files, under inotify (Go duration).")
    var rescanInterval: String = "1s"

    @Option(name: .customLong("max-line-bytes"), help: "Longer lines are cut into pieces of this size.")
    var maxLineBytes: Int = 1 << 20

    @Option(help: "Send lines to this http:// URL instead of stdout.")
    var url: String?

    @Option(name: .customLong("push-format"), help: "Body of HTTP requests: ndjson, loki (/loki/api/v1/push) or elasticsearch (_bulk).")
    var pushFormat: String = "ndjson"

    @Option(name: .customLong("label"), help: "A Loki stream label KEY=VALUE (repeatable).")
    var labels: [String] = []

    @Option(help: "The index of Elasticsearch _bulk requests.")
    var index: String = "tandem-logs"

    @Option(name: .customLong("batch-lines"), help: "Most lines per HTTP request.")
    var batchLines: Int = 1000

    @Flag(help: "Read what is there and exit instead of following.")
    var once = false

    func run() async throws {
        throw ExitCode(await execute())
    }

    /// How long a stop may take to deliver what was read before it gives up.
    static let stopTimeout: Duration = .seconds(5)

    private static func say(_ message: String) {
        FileHandle.standardError.write(Data(("tandem sidecar logs: " + message + "\n").utf8))
    }

    private func usage(_ message: String) -> Int32 {
        Self.say("error: " + message)
        return 2
    }

    /// Every chunk the tailer reads is a fresh buffer of `readChunkBytes` (1 MiB), freed once
    /// the sink wrote it. With glibc's defaults each one is mmapped or trimmed back to the
    /// kernel when freed and page-faulted in afresh by the next `read(2)`: 40 000 page faults
    /// per 256 MiB followed, half the sidecar's CPU time, a cost that grows with memory
    /// contention (0.75x `tail -F` beside two memory-bound processes, against 1.05x alone; a
    /// bench run on a machine full of compilers gave 0.21x). Fixed thresholds well above the chunk size keep the freed buffer in the
    /// heap, where the next chunk reuses it; the sidecar's heap is a few chunks, so what it
    /// keeps is a few MiB. (Set here, for this process, not by the library.)
    /// glibc's `mallopt`, which the Glibc module does not export (it is in <malloc.h>), looked
    /// up at run time; the parameter numbers are <malloc.h>'s.
    static func recycleReadBuffers() {
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
        _ = mallopt(mmapThreshold, 32 << 20)
        _ = mallopt(trimThreshold, 64 << 20)
    }

    /// A batch is written with one `write(2)` of up to `readChunkBytes`; into a default 64 KiB
    /// pipe that is 16 sleeps and wake-ups of this process and of the reader per batch, with
    /// the pipe empty while the next chunk is read. A pipe that holds a whole batch lets the
    /// reader drain one while the next is read (Tandem's runtime makes its containers' stdout
    /// pipes this size too). Best effort: not a pipe, or a smaller limit, changes nothing.
    static func growStdoutPipe(to bytes: Int) {
        var st = stat()
        guard fstat(1, &st) == 0, (st.st_mode & S_IFMT) == S_IFIFO else { return }
        _ = fcntl(1, 1031 /* F_SETPIPE_SZ */, Int32(bytes))
    }

    func execute() async -> Int32 {
        guard !paths.isEmpty else { return usage("give one or more files or globs to follow") }
        let lineFormat: LineFormat
        do { lineFormat = try LineFormat(format) } catch { return usage("--format \"\(format)\": \(error)") }
        guard from == "head" || from == "end" else { return usage("--from must be head or end, not \"\(from)\"") }
        var options = TailerOptions(patterns: paths.map(PathPattern.init))
        options.fromEnd = from == "end"
        options.statePath = state
        options.once = once
        guard maxLineBytes >= 1 else { return usage("--max-line-bytes must be at least 1") }
        options.maxLineBytes = maxLineBytes
        for (flag, text) in [("--rotate-wait", rotateWait), ("--rescan-interval", rescanInterval)] {
            switch GoDuration.parse(text) {
            case .failure(let e): return usage("invalid argument \"\(text)\" for \"\(flag)\": \(e.message)")
            case .success(let d):
                if flag == "--rotate-wait" { options.rotateWait = d } else {
                    guard d > .zero else { return usage("--rescan-interval must be positive") }
                    options.rescanInterval = d
                }
            }
        }

        let report: @Sendable (String) -> Void = { Self.say($0) }
        let sink: any LogSink
        if let url {
            let endpoint: HTTPEndpoint
            do { endpoint = try HTTPEndpoint(url) } catch { return usage("--url: \(error)") }
            guard let push = PushFormat(rawValue: pushFormat) else {
                return usage("--push-format must be one of \(PushFormat.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(pushFormat)\"")
            }
            var pushOptions = PushFormat.Options()
            for l in labels {
                guard let eq = l.firstIndex(of: "="), eq != l.startIndex else { return usage("--label \"\(l)\": expected KEY=VALUE") }
                pushOptions.labels.append((String(l[..<eq]), String(l[l.index(after: eq)...])))
            }
            pushOptions.index = index
            guard batchLines >= 1 else { return usage("--batch-lines must be at least 1") }
            sink = HTTPSink(endpoint: endpoint, format: push, options: pushOptions, maxBatchLines: batchLines, report: report)
        } else {
            sink = StdoutSink(fd: 1, format: lineFormat)
            Self.growStdoutPipe(to: options.readChunkBytes)
        }

        do {
            try Tailer.validate(options.patterns)
        } catch {
            Self.say("error: \(error)")
            return 1
        }
        // A closed stdout must be an error to report, not a silent SIGPIPE death.
        signal(SIGPIPE, SIG_IGN)
        Self.recycleReadBuffers()
        let tailer: Tailer
        do {
            tailer = try Tailer(options: options, sink: sink, report: report)
        } catch {
            Self.say("error: \(error)")
            return 1
        }
        // SIGTERM: read what is there and write it out. A receiver that is down (or a large
        // backlog) would keep the sidecar busy until the kubelet's SIGKILL; after `stopTimeout`
        // the delivery is given up instead (offsets stay at the last delivered line: nothing is
        // lost, the rest goes out after a restart with --state).
        let run = Task { try await tailer.run() }
        let stopTimeout = Self.stopTimeout
        let signals = SignalWatcher.install {
            Task {
                await tailer.stop()
                try? await Task.sleep(for: stopTimeout)
                run.cancel()
            }
        }
        defer { signals.cancel() }
        do {
            try await run.value
            return 0
        } catch is CancellationError {
            Self.say("error: stopped with lines not yet delivered; with --state they are sent after a restart")
            return 1
        } catch {
            Self.say("error: \(error)")
            return 1
        }
    }
}
