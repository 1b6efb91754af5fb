import ArgumentParser
import Foundation
import KubeAPI
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `tandem bench logs`: `tandem sidecar logs` beside the `tail -F` the seeds use, in one run on
/// one machine. Two measurements:
///
/// 1. Throughput: a file of 100-byte lines followed from its start, lines/s and MB/s out of each
///    tailer, ours as a ratio to coreutils `tail -F` (the same bytes, the same pipe reader).
/// 2. Rotation: a writer appends numbered lines while the real `logrotate` rotates the file
///    again and again (`create`, the writer reopening after each rotation as a `postrotate`
///    HUP would make it; or `copytruncate`, the writer appending with O_APPEND), and each
///    tailer's output is checked line by line: lost, duplicated, out of order, corrupt. For
///    copytruncate, lines written between logrotate's copy and its truncation exist in no file;
///    they are counted apart ("lost by copytruncate itself") and not charged to the tailers.
///
/// Nothing here is asserted: it prints what happened. The end-to-end tests assert tandem's
/// figures from the files `--work-dir` keeps.
struct BenchLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Compare `tandem sidecar logs` with coreutils and busybox `tail -F`: throughput and lines lost across logrotate rotations."
    )

    @Option(help: "Bytes of 100-byte lines for the throughput rounds (0 skips them).")
    var bytes: Int = 256 << 20

    @Option(help: "Throughput rounds per tailer (the median is printed).")
    var rounds: Int = 3

    @Option(help: "logrotate runs per rotation scenario (0 skips them).")
    var rotations: Int = 100

    @Option(name: .customLong("line-rate"), help: "Lines per second the writer appends during the rotations.")
    var lineRate: Int = 50_000

    @Option(help: "Rotation modes: create, copytruncate (comma-separated).")
    var modes: String = "create,copytruncate"

    @Option(help: "Tailers: tandem, coreutils, busybox (comma-separated).")
    var tailers: String = "tandem,coreutils,busybox"

    @Option(name: .customLong("work-dir"), help: "Keep every file (writer count, tailer output, rotated files) under this directory instead of a temporary one.")
    var workDir: String?

    @Flag(help: "Print the figures as JSON.")
    var json = false

    @Flag(name: .customLong("stall-tailer"), help: "Freeze each tailer (SIGSTOP) for 30 ms of every 40 ms while the writer and logrotate run, as a loaded machine now and then does.")
    var stallTailer = false

    func validate() throws {
        guard bytes == 0 || bytes >= 100, rotations >= 0, rounds >= 1, lineRate >= 100 else {
            throw ValidationError("--bytes must be 0 or at least 100 (one line), --rotations >= 0, --rounds >= 1, --line-rate >= 100")
        }
        for m in modes.split(separator: ",") where RotationMode(rawValue: String(m)) == nil {
            throw ValidationError("unknown mode \(m); modes are create, copytruncate")
        }
        for t in tailers.split(separator: ",") where TailerKind(rawValue: String(t)) == nil {
            throw ValidationError("unknown tailer \(t); tailers are tandem, coreutils, busybox")
        }
    }

    func run() async throws {
        let keep = workDir != nil
        let root = try workDir ?? Self.makeTempDir()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: root) } }
        let kinds = tailers.split(separator: ",").compactMap { TailerKind(rawValue: String($0)) }
        var report = LogBenchReport()
        if bytes > 0 {
            report.throughput = try throughput(dir: root + "/throughput", kinds: kinds)
        }
        if rotations > 0 {
            for mode in modes.split(separator: ",").compactMap({ RotationMode(rawValue: String($0)) }) {
                for kind in kinds {
                    let scenario = RotationScenario(dir: "\(root)/\(mode.rawValue)-\(kind.rawValue)", mode: mode, tailer: kind,
                                                    rotations: rotations, lineRate: lineRate, stallTailer: stallTailer)
                    report.rotation.append(try scenario.run())
                }
            }
        }
        print(json ? report.jsonText() : report.text(bytes: bytes, rounds: rounds, rotations: rotations, lineRate: lineRate))
    }

    static func makeTempDir() throws -> String {
        var template = Array("/tmp/tandem-bench-logs.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ValidationError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    // MARK: - Throughput

    func throughput(dir: String, kinds: [TailerKind]) throws -> [ThroughputFigure] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let file = dir + "/big.log"
        let lines = bytes / 100
        try Self.writeLines(count: lines, to: file)
        defer { unlink(file) }
        // Busybox is left out here: it is a rotation-loss comparison, its 1 s poll would only
        // measure the poll interval.
        var variants: [(String, [String])] = []
        if kinds.contains(.coreutils) { variants.append(("coreutils tail -F", TailerKind.coreutils.argv(file, format: nil))) }
        if kinds.contains(.tandem) {
            variants.append(("tandem sidecar logs", TailerKind.tandem.argv(file, format: nil)))
            variants.append(("tandem, --format processed", TailerKind.tandem.argv(file, format: "processed")))
        }
        var seconds: [String: [Double]] = [:]
        // Rounds alternate between tailers so drift (page cache, other load) hits all alike.
        for _ in 0..<rounds {
            for (name, argv) in variants {
                seconds[name, default: []].append(try Self.timeToDeliver(argv: argv, lines: lines))
            }
        }
        return variants.map { name, _ in
            ThroughputFigure(name: name, lines: lines, bytes: lines * 100, seconds: Stats(seconds[name]!).median)
        }
    }

    /// Writes `count` numbered 100-byte lines.
    static func writeLines(count: Int, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ValidationError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        for i in 1...max(count, 1) {
            buffer += numberedLine(i)
            if buffer.count >= (1 << 20) - 100 || i == count {
                try writeAll(fd, buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
    }

    /// `000000042 xxxx…x\n`, 100 bytes.
    static func numberedLine(_ i: Int) -> [UInt8] {
        let n = String(i)
        return Array((String(repeating: "0", count: max(0, 9 - n.count)) + n + " ").utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 89) + [10]
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ValidationError("write: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    /// Starts a tailer with its stdout on a pipe, reads the pipe until `lines` newlines came
    /// out, and returns the seconds from the start; the tailer is then killed.
    static func timeToDeliver(argv: [String], lines: Int) throws -> Double {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ValidationError("pipe failed") }
        let clock = ContinuousClock()
        let start = clock.now
        let pid = try spawn(argv, stdout: ends[1], stderr: -1)
        close(ends[1])
        defer {
            kill(pid, SIGKILL)
            var st: Int32 = 0
            waitpid(pid, &st, 0)
            close(ends[0])
        }
        var seen = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while seen < lines {
            let n = buffer.withUnsafeMutableBytes { read(ends[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ValidationError("\(argv.joined(separator: " ")) stopped after \(seen) of \(lines) lines") }
            seen += buffer.withUnsafeBytes { Self.newlines($0.baseAddress!, n) }
        }
        return Bench.seconds(clock.now - start)
    }

    /// Newlines in `count` bytes, with memchr: the reader must be much faster than the tailers
    /// it measures, in a debug build too.
    static func newlines(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        var n = 0
        var p = base
        let end = base + count
        while p < end, let hit = memchr(p, 10, end - p) {
            n += 1
            p = UnsafeRawPointer(hit) + 1
        }
        return n
    }

    /// posix_spawn with stdout (and stderr, or /dev/null when -1) redirected; stdin /dev/null.
    static func spawn(_ argv: [String], stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        if stderr >= 0 {
            posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // The spawning thread may be one of Swift concurrency's, which block every signal; the
        // child must not inherit that mask (a tail that cannot get SIGTERM never stops), nor an
        // ignored SIGPIPE.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let envStrings: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        let env: [UnsafeMutablePointer<CChar>?] = envStrings.map { strdup($0) } + [nil]
        defer { env.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, env)
        guard rc == 0 else { throw ValidationError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}

enum TailerKind: String, Sendable, CaseIterable {
    case tandem, coreutils, busybox

    var title: String {
        switch self {
        case .tandem: return "tandem sidecar logs"
        case .coreutils: return "coreutils tail -F"
        case .busybox: return "busybox tail -F"
        }
    }

    /// Each follows `path` from its first line (`-n +1`), as the sidecar does by default.
    func argv(_ path: String, format: String?) -> [String] {
        switch self {
        case .tandem: return [ImageCatalogPath.tandem, "sidecar", "logs", "--format", format ?? "plain", path]
        case .coreutils: return ["/usr/bin/tail", "-F", "-n", "+1", path]
        case .busybox: return ["/usr/bin/busybox", "tail", "-F", "-n", "+1", path]
        }
    }
}

/// This binary's path (the bench runs it as the sidecar).
enum ImageCatalogPath {
    static let tandem: String = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

enum RotationMode: String, Sendable {
    case create, copytruncate
}

struct ThroughputFigure {
    var name: String
    var lines: Int
    var bytes: Int
    var seconds: Double
    var linesPerSecond: Double { Double(lines) / seconds }
    var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
}

/// What one tailer delivered in one rotation scenario.
struct RotationFigure {
    var mode: RotationMode
    var tailer: TailerKind
    var written = 0
    /// Lines that exist in some file at the end (all written lines, except copytruncate's gap).
    var onDisk = 0
    /// Lines cut short at the end of a file (logrotate copied while the writer was mid-line).
    var cutOnDisk = 0
    var delivered = 0
    /// Distinct well-formed lines delivered.
    var unique = 0
    /// Lines that are in a file but were not delivered: the tailer's own losses.
    var lost = 0
    var duplicated = 0
    var outOfOrder = 0
    var corrupt = 0
    /// Written but not delivered, including lines that are in no file any more.
    var missing: Int { written - unique }
}

/// A writer, `logrotate`, and one tailer on the same file (see `BenchLogs`). The files stay in
/// `dir`: `writer.count` (lines written), `out.log` (what the tailer printed), `app.log*`.
struct RotationScenario {
    var dir: String
    var mode: RotationMode
    var tailer: TailerKind
    var rotations: Int
    var lineRate: Int
    /// Whole generations are then written and rotated while the tailer cannot look, and its
    /// reads and directory listings are cut in the middle by logrotate's renames.
    var stallTailer = false

    func run() throws -> RotationFigure {
        let fm = FileManager.default
        try? fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = dir + "/app.log"
        let conf = dir + "/logrotate.conf"
        // rotate 1000: every rotated file is kept, so what exists on disk can be counted.
        try "\(log) {\n  rotate 1000\n  \(mode.rawValue)\n  nocompress\n  missingok\n}\n".write(toFile: conf, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: log, contents: nil)

        let outFD = open(dir + "/out.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let errFD = open(dir + "/tailer.err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(outFD); close(errFD) }
        let pid = try BenchLogs.spawn(tailer.argv(log, format: nil), stdout: outFD, stderr: errFD)
        var reaped = false
        defer {
            if !reaped {
                kill(pid, SIGKILL)
                var st: Int32 = 0
                waitpid(pid, &st, 0)
            }
        }
        // Give the tailer a moment to open the (empty) file: tail -F with a file that is
        // rotated before it ever opened it is a different, less interesting failure.
        usleep(200_000)

        let writer = NumberedWriter(path: log, reopenAfterRotation: mode == .create, lineRate: lineRate)
        writer.start()
        let staller = stallTailer ? Staller(pid: pid) : nil
        staller?.start()
        defer { staller?.stop() }
        usleep(50_000)
        for _ in 0..<rotations {
            try Self.logrotate(conf: conf, state: dir + "/logrotate.state")
            writer.reopen()
            usleep(5_000)
        }
        usleep(50_000)
        let written = writer.stop()
        staller?.stop()
        try "\(written)\n".write(toFile: dir + "/writer.count", atomically: true, encoding: .utf8)

        // Wait until the last line came out, or the output stopped growing for 3 s (busybox
        // polls once a second; a tailer that lost the last file never prints it).
        let last = String(decoding: BenchLogs.numberedLine(written).dropLast(), as: UTF8.self)
        var lastSize = -1
        var quietSince = Date()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let size = (try? fm.attributesOfItem(atPath: dir + "/out.log")[.size] as? Int) ?? 0
            if size != lastSize {
                lastSize = size
                quietSince = Date()
                if Self.lastLine(of: dir + "/out.log") == last { break }
            } else if Date().timeIntervalSince(quietSince) > 3 {
                break
            }
            usleep(50_000)
        }
        kill(pid, SIGTERM)
        var st: Int32 = 0
        waitpid(pid, &st, 0)
        reaped = true

        var figure = RotationFigure(mode: mode, tailer: tailer)
        figure.written = written
        let (onDisk, cut) = try Self.numbersOnDisk(dir: dir)
        figure.onDisk = onDisk.count
        figure.cutOnDisk = cut
        let out = try Self.numbers(inFile: dir + "/out.log")
        figure.corrupt = out.corrupt
        figure.delivered = out.numbers.count
        var seen = Set<Int>()
        var previous = 0
        for n in out.numbers {
            if !seen.insert(n).inserted { figure.duplicated += 1; continue }
            if n < previous { figure.outOfOrder += 1 }
            previous = n
        }
        figure.unique = seen.count
        figure.lost = onDisk.subtracting(seen).count
        return figure
    }

    static func logrotate(conf: String, state: String) throws {
        let pid = try BenchLogs.spawn(["/usr/sbin/logrotate", "-f", "-s", state, conf], stdout: 2, stderr: 2)
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        guard st == 0 else { throw ValidationError("logrotate exited with status \(st)") }
    }

    static func lastLine(of path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return nil }
        let trimmed = data.last == 10 ? data.dropLast() : data[...]
        let start = trimmed.lastIndex(of: 10).map { $0 + 1 } ?? trimmed.startIndex
        return String(decoding: trimmed[start...], as: UTF8.self)
    }

    /// The numbers of the well-formed lines of a file, and how many lines were not well formed.
    static func numbers(inFile path: String) throws -> (numbers: [Int], corrupt: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
        var numbers: [Int] = []
        var corrupt = 0
        for line in data.split(separator: 10, omittingEmptySubsequences: false).dropLast(data.last == 10 ? 1 : 0) {
            if line.count == 99, line[line.startIndex + 9] == 32, let n = Int(String(decoding: line.prefix(9), as: UTF8.self)),
               line.suffix(89).allSatisfy({ $0 == UInt8(ascii: "x") }) {
                numbers.append(n)
            } else {
                corrupt += 1
            }
        }
        return (numbers, corrupt)
    }

    /// Every line number present in `app.log` and its rotated copies.
    static func numbersOnDisk(dir: String) throws -> (Set<Int>, cut: Int) {
        var all = Set<Int>()
        var cut = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasPrefix("app.log") {
            let r = try numbers(inFile: dir + "/" + name)
            all.formUnion(r.numbers)
            cut += r.corrupt
        }
        return (all, cut)
    }
}

/// Appends numbered lines at a steady rate on a thread of its own, one `write(2)` per line, as
/// a program logging line by line does. After a `create` rotation it reopens the path when told
/// (what a `postrotate` SIGHUP makes a daemon do); for copytruncate it keeps its one O_APPEND
/// descriptor, so that after the truncation it writes at the new end, not into a hole.
final class NumberedWriter: @unchecked Sendable {
    private let path: String
    private let reopenAfterRotation: Bool
    private let lineRate: Int
    private let reopenRequested = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let reopened = DispatchSemaphore(value: 0)
    private var count = 0

    init(path: String, reopenAfterRotation: Bool, lineRate: Int) {
        self.path = path
        self.reopenAfterRotation = reopenAfterRotation
        self.lineRate = lineRate
    }

    func start() {
        Thread { [self] in loop() }.start()
    }

    /// Returns once the writer has reopened: the next rotation must not find the path
    /// recreated by a late reopen (logrotate's `create` would then fail).
    func reopen() {
        guard reopenAfterRotation else { return }
        reopenRequested.store(true, ordering: .releasing)
        reopened.wait()
    }

    /// Stops and returns how many lines were written.
    func stop() -> Int {
        stopRequested.store(true, ordering: .releasing)
        done.wait()
        return count
    }

    private func loop() {
        var fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        let clock = ContinuousClock()
        let start = clock.now
        while !stopRequested.load(ordering: .acquiring) {
            if reopenRequested.exchange(false, ordering: .acquiringAndReleasing) {
                close(fd)
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
                reopened.signal()
            }
            // Catch up to the target rate, then sleep a millisecond.
            let due = Int(Bench.seconds(clock.now - start) * Double(lineRate))
            while count < due {
                count += 1
                try? BenchLogs.writeAll(fd, BenchLogs.numberedLine(count))
            }
            usleep(1000)
        }
        close(fd)
        done.signal()
    }
}

/// Freezes a process (SIGSTOP) for 30 ms of every 40 ms on a thread of its own, until stopped;
/// it is left running (SIGCONT). `--stall-tailer`: what a tailer meets on a loaded machine, made
/// frequent.
final class Staller: @unchecked Sendable {
    private let pid: pid_t
    private let stopRequested = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private let running = Atomic<Bool>(false)

    init(pid: pid_t) {
        self.pid = pid
    }

    func start() {
        running.store(true, ordering: .releasing)
        Thread { [self] in
            while !stopRequested.load(ordering: .acquiring) {
                kill(pid, SIGSTOP)
                usleep(30_000)
                kill(pid, SIGCONT)
                usleep(10_000)
            }
            done.signal()
        }.start()
    }

    /// Returns once the process runs again; a second call does nothing.
    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        stopRequested.store(true, ordering: .releasing)
        done.wait()
    }
}

struct LogBenchReport {
    var throughput: [ThroughputFigure] = []
    var rotation: [RotationFigure] = []

    func text(bytes: Int, rounds: Int, rotations: Int, lineRate: Int) -> String {
        var lines: [String] = []
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: n, withPad: " ", startingAt: 0) }
        if !throughput.isEmpty {
            lines.append("follow throughput: \(bytes >> 20) MiB of 100-byte lines from the start of the file, to a pipe (median of \(rounds))")
            let base = throughput.first { $0.name.hasPrefix("coreutils") }
            for f in throughput {
                var row = pad("  " + f.name, 32) + String(format: "%10.0f lines/s  %7.1f MB/s", f.linesPerSecond, f.megabytesPerSecond)
                if let base, f.name != base.name { row += String(format: "   = %.2fx coreutils tail -F", base.seconds / f.seconds) }
                lines.append(row)
            }
        }
        if !rotation.isEmpty {
            lines.append("rotation: \(rotations) logrotate runs while a writer appends \(lineRate) numbered lines/s")
            lines.append("  " + pad("mode", 14) + pad("tailer", 22) + "written  delivered  missing  in a file  dup  out-of-order  corrupt")
            for r in rotation {
                var row = "  " + pad(r.mode.rawValue, 14) + pad(r.tailer.title, 22)
                row += String(format: "%7d  %9d  %7d  %9d  %3d  %12d  %7d", r.written, r.unique, r.missing, r.lost, r.duplicated, r.outOfOrder, r.corrupt)
                lines.append(row)
            }
            lines.append("  missing: written but never delivered; in a file: of those, lines that are in app.log or a rotated copy (the tailer's own loss).")
            lines.append("  The rest of copytruncate's missing lines were written between logrotate's copy and its truncation: they are in no file.")
        }
        return lines.joined(separator: "\n")
    }

    func jsonText() -> String {
        var o: [String: JSONValue] = [:]
        o["throughput"] = .array(throughput.map {
            .object(["name": .string($0.name), "lines": .int(Int64($0.lines)), "seconds": .double($0.seconds),
                     "linesPerSecond": .double($0.linesPerSecond), "megabytesPerSecond": .double($0.megabytesPerSecond)])
        })
        o["rotation"] = .array(rotation.map {
            .object(["mode": .string($0.mode.rawValue), "tailer": .string($0.tailer.rawValue), "written": .int(Int64($0.written)),
                     "onDisk": .int(Int64($0.onDisk)), "delivered": .int(Int64($0.delivered)), "lost": .int(Int64($0.lost)),
                     "duplicated": .int(Int64($0.duplicated)), "outOfOrder": .int(Int64($0.outOfOrder)), "corrupt": .int(Int64($0.corrupt)),
                     "missing": .int(Int64($0.missing)), "unique": .int(Int64($0.unique)), "cutOnDisk": .int(Int64($0.cutOnDisk))])
        })
        return JSONValue.object(o).jsonText()
    }
}
