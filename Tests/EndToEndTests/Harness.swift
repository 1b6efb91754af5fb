import Foundation
import KubeAPI

/// Runs the real `tandem` binary, as a user would, and hands back what it printed and the final
/// objects of `-o json`. Every run gets its own `--root`, removed afterwards.
struct Tandem {
    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["TANDEM_BIN"] { return env }
        // .build/debug/tandem beside the test bundle.
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return here.appendingPathComponent(".build/debug/tandem").path
    }

    /// `shared/examples/seeds` beside the checkout, or beside a folder above it (a git worktree
    /// under `wt/`); `TANDEM_SEEDS` overrides.
    static var seeds: String {
        if let env = ProcessInfo.processInfo.environment["TANDEM_SEEDS"] { return env }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        while dir.path != "/" {
            dir = dir.deletingLastPathComponent()
            let candidate = dir.appendingPathComponent("shared/examples/seeds").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return "shared/examples/seeds"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var root: String
        var items: [JSONValue]

        var pods: [JSONValue] { items.filter { $0["kind"]?.stringValue == "Pod" } }
        func pod(_ prefix: String) -> JSONValue? { pods.first { $0["metadata"]?["name"]?.stringValue?.hasPrefix(prefix) ?? false } }
        func kind(_ k: String) -> [JSONValue] { items.filter { $0["kind"]?.stringValue == k } }

        /// The CRI log of a container (all instances), as the kubelet lays it out.
        func log(pod: String, container: String) -> String {
            let podsDir = root + "/pods"
            let dirs = (try? FileManager.default.contentsOfDirectory(atPath: podsDir)) ?? []
            var text = ""
            for d in dirs where d.contains("_\(pod)") {
                let cdir = "\(podsDir)/\(d)/\(container)"
                for f in ((try? FileManager.default.contentsOfDirectory(atPath: cdir)) ?? []).sorted() where f.hasSuffix(".log") && !f.hasPrefix("termination") {
                    text += (try? String(contentsOfFile: "\(cdir)/\(f)", encoding: .utf8)) ?? ""
                }
            }
            return text
        }
    }

    /// Runs `tandem run --root R -o json [args] FILE` on `yaml`. `keepRoot` leaves the state
    /// directory for inspection; the caller must then call `cleanup`.
    static func run(_ yaml: String, args: [String] = [], timeout: String = "60s", output: Bool = true,
                    stdin: String? = nil, signal: (Int32, TimeInterval)? = nil, keepRoot: Bool = false) throws -> Result {
        let root = try tempDir("tandem-e2e-root")
        let manifestDir = try tempDir("tandem-e2e-manifest")
        defer { try? FileManager.default.removeItem(atPath: manifestDir) }
        let file = manifestDir + "/manifest.yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        var arguments = ["run", "--root", root, "--timeout", timeout]
        if output { arguments += ["-o", "json"] }
        arguments += args
        arguments.append(stdin == nil ? file : "-")
        let result = try exec(binary, arguments, stdin: stdin, signal: signal)
        var items: [JSONValue] = []
        if output, let data = result.stdout.data(using: .utf8), let list = try? JSONDecoder().decode(JSONValue.self, from: data),
           case .array(let a)? = list["items"] {
            items = a
        }
        let r = Result(status: result.status, stdout: result.stdout, stderr: result.stderr, root: root, items: items)
        if !keepRoot { cleanup(r) }
        return r
    }

    static func cleanup(_ r: Result) {
        try? FileManager.default.removeItem(atPath: r.root)
    }

    static func tempDir(_ prefix: String) throws -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs a command to completion; optionally sends `signal` after some seconds. Output goes to
    /// files, so neither stream can fill a pipe and block the child.
    static func exec(_ path: String, _ args: [String], stdin: String? = nil, signal: (Int32, TimeInterval)? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = try tempDir("tandem-e2e-out")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/out", contents: nil)
        FileManager.default.createFile(atPath: dir + "/err", contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        let inPipe = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try p.run()
        if let stdin {
            inPipe.fileHandleForWriting.write(Data(stdin.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        if let (signo, after) = signal {
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + after) { kill(pid, signo) }
        }
        p.waitUntilExit()
        let out = (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? ""
        return (p.terminationStatus, out, err)
    }
}

extension JSONValue {
    var int: Int? {
        switch self {
        case .int(let i): return Int(i)
        case .double(let d): return Int(d)
        default: return nil
        }
    }

    var array: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }

    /// A container status by name from a Pod object (init or regular).
    func containerStatus(_ name: String) -> JSONValue? {
        let st = self["status"]
        return ((st?["initContainerStatuses"]?.array ?? []) + (st?["containerStatuses"]?.array ?? [])).first { $0["name"]?.stringValue == name }
    }

    /// `state.terminated`, else `lastState.terminated`.
    var terminated: JSONValue? { self["state"]?["terminated"] ?? self["lastState"]?["terminated"] }
}

/// Waits (up to `timeout`) for `condition`, looking every 0.1 s; tests may wait, the product
/// never polls.
func waitUntil(_ timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(100_000)
    }
    return condition()
}

/// Processes whose command line contains `marker`: used to prove nothing outlives a test.
func processes(containing marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    var found: [Int32] = []
    for e in entries {
        guard let pid = Int32(e), pid != getpid() else { continue }
        if commandLine(pid).contains(marker) { found.append(pid) }
    }
    return found
}

/// The parent of a process, from `/proc/PID/stat` (nil when it is gone).
func parentPID(_ pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? Int32(fields[1]) : nil
}

/// Every process below `pid` (children, their children, …), from /proc's parent links.
func descendants(of pid: Int32) -> [Int32] {
    var children: [Int32: [Int32]] = [:]
    for e in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        if let p = Int32(e), let ppid = parentPID(p) { children[ppid, default: []].append(p) }
    }
    var out: [Int32] = []
    var queue = children[pid] ?? []
    while let p = queue.popLast() {
        out.append(p)
        queue += children[p] ?? []
    }
    return out
}

/// The command line of a process, its arguments joined by spaces ("" when it is gone).
func commandLine(_ pid: Int32) -> String {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
    return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
}

/// A `tandem run` left running in the background, for tests that look at a live pod.
final class BackgroundRun: @unchecked Sendable {
    let process = Process()
    let root: String
    let outDir: String

    init(files: [String], args: [String] = []) throws {
        root = try Tandem.tempDir("tandem-e2e-root")
        outDir = try Tandem.tempDir("tandem-e2e-out")
        FileManager.default.createFile(atPath: outDir + "/out", contents: nil)
        FileManager.default.createFile(atPath: outDir + "/err", contents: nil)
        process.executableURL = URL(fileURLWithPath: Tandem.binary)
        process.arguments = ["run", "--root", root, "-o", "json"] + args + files
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outDir + "/out"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: outDir + "/err"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// The pod as tandem last published it (`POD_DIR/pod.json`).
    func pod(_ prefix: String) -> JSONValue? {
        let dirs = (try? FileManager.default.contentsOfDirectory(atPath: root + "/pods")) ?? []
        for d in dirs where d.split(separator: "_").dropFirst().first?.hasPrefix(prefix) ?? false {
            if let data = FileManager.default.contents(atPath: "\(root)/pods/\(d)/pod.json"), let v = try? JSONDecoder().decode(JSONValue.self, from: data) { return v }
        }
        return nil
    }

    /// Every pod of the run as last published, by name (deleted pods included: their directories stay).
    func pods() -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for d in (try? FileManager.default.contentsOfDirectory(atPath: root + "/pods")) ?? [] {
            if let data = FileManager.default.contents(atPath: "\(root)/pods/\(d)/pod.json"),
               let v = try? JSONDecoder().decode(JSONValue.self, from: data), let name = v["metadata"]?["name"]?.stringValue {
                out[name] = v
            }
        }
        return out
    }

    /// What tandem has printed on stderr so far: the timeline, since stdout holds `-o json`.
    var timeline: String { (try? String(contentsOfFile: outDir + "/err", encoding: .utf8)) ?? "" }

    /// Waits (up to `timeout`) for `condition`; tests may wait, the product never polls.
    @discardableResult
    func wait(for timeout: TimeInterval = 30, _ condition: () -> Bool) -> Bool { waitUntil(timeout, condition) }

    func podRunningAndReady(_ prefix: String) -> Bool {
        guard let p = pod(prefix) else { return false }
        return p["status"]?["phase"]?.stringValue == "Running"
            && (p["status"]?["conditions"]?.array.contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" } ?? false)
    }

    func log(pod: String, container: String) -> String {
        Tandem.Result(status: 0, stdout: "", stderr: "", root: root, items: []).log(pod: pod, container: container)
    }

    /// Stops tandem with `signo` and waits for it to exit; returns its status and output.
    func stop(_ signo: Int32 = SIGINT) -> Tandem.Result {
        if process.isRunning { kill(process.processIdentifier, signo) }
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outDir + "/out", encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: outDir + "/err", encoding: .utf8)) ?? ""
        var items: [JSONValue] = []
        if let list = try? JSONDecoder().decode(JSONValue.self, from: Data(out.utf8)) { items = list["items"]?.array ?? [] }
        return Tandem.Result(status: process.terminationStatus, stdout: out, stderr: err, root: root, items: items)
    }

    func cleanup() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: outDir)
    }
}

/// A plain HTTP GET from the host to a pod, returning the body (nil on any failure). Uses Python's
/// urllib: Debian 12's busybox wget crashes (SIGSEGV) whenever `-T` is given.
func httpGet(_ host: String, port: Int = 80, path: String = "/") -> String? {
    let script = "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"
    let r = try? Tandem.exec("/usr/bin/python3", ["-c", script, "http://\(host):\(port)\(path)"])
    guard let r, r.status == 0 else { return nil }
    return r.stdout
}
