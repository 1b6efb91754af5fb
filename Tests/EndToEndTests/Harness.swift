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

    static var seeds: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/examples/seeds").path
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

    /// Runs a command to completion; optionally sends `signal` after some seconds.
    static func exec(_ path: String, _ args: [String], stdin: String? = nil, signal: (Int32, TimeInterval)? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
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
        // Read both pipes to the end on their own threads so neither can fill up and block tandem.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let done = DispatchSemaphore(value: 0)
        let wrapped = Thread { reader.main(); done.signal() }
        wrapped.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
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

/// Processes whose command line contains `marker`: used to prove nothing outlives a test.
func processes(containing marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    var found: [Int32] = []
    for e in entries {
        guard let pid = Int32(e), pid != getpid() else { continue }
        guard let data = FileManager.default.contents(atPath: "/proc/\(e)/cmdline") else { continue }
        let cmd = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        if cmd.contains(marker) { found.append(pid) }
    }
    return found
}
