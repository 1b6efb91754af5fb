import CTandemInit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An error from the runtime's own plumbing (spawn, pipes, state dirs), with the failing step.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// Captures `errno` right away: any later call may overwrite it.
    static func errno(_ step: String) -> RuntimeError {
        let e = Glibc.errno
        return RuntimeError("\(step): \(String(cString: strerror(e)))")
    }
}

/// Thin wrappers over the system calls the runtime needs. Every descriptor is created
/// close-on-exec, because tandem spawns concurrently from many tasks and only the fds a
/// spawn maps explicitly may reach a child (the lifeline's write end above all).
public enum Sys {
    static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard tandem_pipe_cloexec(&fds) == 0 else { throw RuntimeError.errno("pipe2") }
        return (fds[0], fds[1])
    }

    /// Grows a pipe's kernel buffer (F_SETPIPE_SZ): a chatty writer then blocks, and
    /// context-switches, far less often. Best effort: the default 64 KiB still works.
    static func growPipe(_ fd: Int32, to size: Int32 = 1 << 20) {
        _ = fcntl(fd, 1031 /* F_SETPIPE_SZ */, size)
    }

    /// A sealed-size anonymous file: the shim reads its config with pread, so no size
    /// limit applies (a pipe would deadlock above 64 KiB of env).
    static func memfd(_ bytes: [UInt8]) throws -> Int32 {
        let fd = tandem_memfd("tandem-init-config")
        guard fd >= 0 else { throw RuntimeError.errno("memfd_create") }
        try writeAll(fd, bytes)
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, $0) }
    }

    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw RuntimeError.errno("write")
            }
            off += n
        }
    }

    /// posix_spawn through the C helper: `fds[i]` becomes fd i (-1 = /dev/null), all
    /// other fds are closed and signal dispositions reset in the child.
    static func spawn(_ path: String, argv: [String], env: [String], fds: [Int32], searchPath: Bool) throws -> pid_t {
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        let pid = tandem_spawn(path, cArgv, cEnv, fds, Int32(fds.count), searchPath ? 1 : 0)
        guard pid > 0 else { throw RuntimeError.errno("spawn \(argv.first ?? path)") }
        return pid
    }

    /// `mkdir -p` with plain mkdir(2) calls: on the pod start path, where FileManager's
    /// version costs a good part of a millisecond per call.
    public static func mkdirs(_ path: String, mode: mode_t = 0o755) throws {
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw RuntimeError.errno("mkdir \(path)") }
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != path else { throw RuntimeError.errno("mkdir \(path)") }
        try mkdirs(parent, mode: mode)
        if mkdir(path, mode) != 0 && errno != EEXIST { throw RuntimeError.errno("mkdir \(path)") }
    }

    /// Creates or truncates `path` and writes `bytes` (os.WriteFile's semantics).
    public static func writeFile(_ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw RuntimeError.errno("open \(path)") }
        defer { close(fd) }
        try writeAll(fd, Array(bytes))
    }

    /// Writes `bytes` over the start of `path` (created if missing) and cuts what is left beyond
    /// them, truncating only when the file was longer. The end is `writeFile`'s; the way there
    /// differs for a file that exists and is empty (a `PodDirectoryPool` one): opened with
    /// O_TRUNC, ext4 truncates it even at size 0, and a file truncated to 0 has its data
    /// allocated and written back at close (`auto_da_alloc`), 0.1 ms of CPU here.
    public static func writeFileInPlace(_ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else { throw RuntimeError.errno("open \(path)") }
        defer { close(fd) }
        let data = Array(bytes)
        try writeAll(fd, data)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw RuntimeError.errno("stat \(path)") }
        if st.st_size > off_t(data.count), ftruncate(fd, off_t(data.count)) != 0 { throw RuntimeError.errno("truncate \(path)") }
    }

    /// Replaces `path` with `bytes` through a temporary file and rename(2), so a reader (or a
    /// Tandem restarted after `kill -9`) sees the old or the new content, never a torn one. No
    /// fsync: these are state files that must survive the process, not the machine (a rebooted
    /// node has no containers left to adopt), and on ext4 an fsync commits the journal, which
    /// stalls every mkdir on a pod's start path behind it for milliseconds.
    public static func replaceFile(_ path: String, _ bytes: some Collection<UInt8>, mode: mode_t = 0o644) throws {
        let temp = path + ".tmp"
        try writeFile(temp, bytes, mode: mode)
        guard rename(temp, path) == 0 else {
            let error = RuntimeError.errno("rename \(temp)")
            unlink(temp)
            throw error
        }
    }

    /// rename(2) that fails (EEXIST) rather than replace what is at `to` (`RENAME_NOREPLACE`).
    public static func renameNoReplace(_ from: String, _ to: String) -> Bool {
        tandem_rename_noreplace(from, to) == 0
    }

    static var environment: [String] {
        ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
    }
}

/// A raw wait(2) status, decoded once.
struct WaitStatus: Sendable, Equatable {
    var raw: Int32
    var exitCode: Int32? { raw & 0x7f == 0 ? (raw >> 8) & 0xff : nil }
    var signal: Int32? { raw & 0x7f == 0 ? nil : raw & 0x7f }
    /// The shell/kubelet convention: 128 + signal for a signalled process.
    var code: Int32 { exitCode ?? 128 + (signal ?? 0) }
}

/// Moves a value that is confined to one thread into that thread's closure.
struct Confined<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Something that consumes bytes read from a pipe, on the drain thread only.
protocol ByteSink: AnyObject {
    func consume(_ bytes: UnsafeRawBufferPointer)
    /// EOF (or a read error) on this pipe.
    func finish()
}

/// Reads a set of pipes to EOF on one dedicated thread.
///
/// A dedicated thread (rather than the cooperative pool) because reads block and a
/// container can write gigabytes; poll(2) multiplexes the few pipes of one process
/// without any busy waiting. 256 KiB reads from the enlarged pipe buffers
/// (see `Sys.growPipe`), so one syscall moves a large batch.
enum Drain {
    static let chunk = 256 * 1024

    static func start(_ sources: [(fd: Int32, sink: any ByteSink)], name: String, then done: @escaping @Sendable () -> Void) {
        let box = Confined(sources)
        let thread = Thread {
            run(box.value)
            done()
        }
        thread.name = name
        thread.stackSize = 256 * 1024
        thread.start()
    }

    private static func run(_ sources: [(fd: Int32, sink: any ByteSink)]) {
        let buf = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buf.deallocate() }
        var pfds = sources.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var open = sources.count
        while open > 0 {
            let n = poll(&pfds, nfds_t(pfds.count), -1)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in pfds.indices where pfds[i].fd >= 0 && pfds[i].revents != 0 {
                let r = read(pfds[i].fd, buf, chunk)
                if r > 0 {
                    sources[i].sink.consume(UnsafeRawBufferPointer(start: buf, count: r))
                } else if r == 0 || (errno != EINTR && errno != EAGAIN) {
                    sources[i].sink.finish()
                    close(pfds[i].fd)
                    pfds[i].fd = -1
                    open -= 1
                }
            }
        }
        for p in pfds where p.fd >= 0 { close(p.fd) }
    }
}

/// Collects everything read into memory (exec output, host command output).
final class DataSink: ByteSink {
    private(set) var data = Data()
    private let limit: Int
    private let onFinish: @Sendable (Data) -> Void
    init(limit: Int = 16 << 20, onFinish: @escaping @Sendable (Data) -> Void) {
        self.limit = limit
        self.onFinish = onFinish
    }
    func consume(_ bytes: UnsafeRawBufferPointer) {
        let room = limit - data.count
        if room > 0 { data.append(contentsOf: bytes.prefix(room)) }
    }
    func finish() { onFinish(data) }
}
