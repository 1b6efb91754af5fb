import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `tandem delete pod NAME…`: deletes pods of the `tandem run` using the same `--root`, gracefully,
/// as `kubectl delete pod` does, and waits until each is gone. A stopgap until `tandem serve`
/// lets kubectl do it.
struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete pods of a running `tandem run` gracefully (as kubectl delete pod).",
        discussion: "Exit status: 0 when every pod was deleted, 1 when one was not found or no run uses --root, 2 on invalid input."
    )

    @Argument(help: "pod NAME..., or pod/NAME...")
    var arguments: [String] = []

    @Option(name: .shortAndLong, help: "The namespace of the pods.")
    var namespace: String = "default"

    @Option(help: "Seconds the pod is given to terminate gracefully; negative for its own terminationGracePeriodSeconds, 0 is taken as 1 (as kubectl does without --force).")
    var gracePeriod: Int64 = -1

    @Option(help: "The state directory of the `tandem run` whose pods to delete.")
    var root: String = "/var/lib/tandem"

    func run() async throws {
        throw ExitCode(await execute())
    }

    private func say(_ message: String, _ code: Int32) -> Int32 {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return code
    }

    /// `pod a b` or `pod/a pod/b`, as kubectl takes them; only pods can be deleted.
    static func podNames(_ arguments: [String]) -> Result<[String], ValidationError> {
        let kinds: Set = ["pod", "pods", "po"]
        if let first = arguments.first, !first.contains("/") {
            guard kinds.contains(first.lowercased()) else {
                return .failure(ValidationError("error: the server doesn't have a resource type \"\(first)\""))
            }
            let names = Array(arguments.dropFirst())
            if names.isEmpty { return .failure(ValidationError("error: resource(s) were provided, but no name was specified")) }
            return .success(names)
        }
        var names: [String] = []
        for a in arguments {
            let parts = a.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                return .failure(ValidationError("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form"))
            }
            guard kinds.contains(parts[0].lowercased()) else {
                return .failure(ValidationError("error: the server doesn't have a resource type \"\(parts[0])\""))
            }
            names.append(parts[1])
        }
        if names.isEmpty { return .failure(ValidationError("error: You must provide one or more resources by argument or filename.")) }
        return .success(names)
    }

    func execute() async -> Int32 {
        let names: [String]
        switch Self.podNames(arguments) {
        case .success(let n): names = n
        case .failure(let e): return say(e.message, 2)
        }
        let dir = RunRequests.dir(root: root)
        // A run holds a shared lock: an exclusive one taken at once means none is there.
        let lockFD = open(RunRequests.lockPath(root: root), O_RDWR | O_CLOEXEC)
        defer { if lockFD >= 0 { close(lockFD) } }
        if lockFD < 0 || flock(lockFD, LOCK_EX | LOCK_NB) == 0 {
            return say("error: no `tandem run` is running with --root \(root)", 1)
        }
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        guard let watcher = DirectoryWatcher(dirs: [dir], onNames: { names in
            for n in names where n.hasSuffix(".reply") && !n.hasPrefix(".") { continuation.yield(.reply(n)) }
        }) else { return say("error: cannot watch \(dir)", 1) }
        defer { watcher.cancel() }
        // The run's end releases its lock: a blocking lock on another descriptor tells of it.
        let endFD = open(RunRequests.lockPath(root: root), O_RDWR | O_CLOEXEC)
        Thread {
            if endFD >= 0, flock(endFD, LOCK_EX) == 0 { continuation.yield(.runEnded) }
        }.start()

        var status: Int32 = 0
        var iterator = events.makeAsyncIterator()
        for name in names {
            let id = UUID().uuidString.lowercased()
            let request = RunRequests.Request(verb: "delete", kind: "Pod", namespace: namespace, name: name,
                                                  gracePeriod: gracePeriod < 0 ? nil : max(1, gracePeriod))
            do {
                try RunRequests.writeWhole(JSONEncoder().encode(request), dir: dir, name: id + ".request")
            } catch {
                return say("error: cannot write a request into \(dir): \(error)", 1)
            }
            let replyPath = "\(dir)/\(id).reply"
            var reply: RunRequests.Reply?
            while reply == nil, let event = await iterator.next() {
                switch event {
                case .reply(let n) where n == id + ".reply":
                    reply = Self.take(replyPath) ?? RunRequests.Reply(result: "BadReply")
                case .reply:
                    continue
                case .runEnded:
                    // The run writes its replies before it lets the lock go; the two events may
                    // arrive here in either order.
                    reply = Self.take(replyPath)
                    if reply == nil {
                        return say("error: the `tandem run` with --root \(root) ended before pod \"\(name)\" was deleted", 1)
                    }
                }
            }
            switch reply?.result {
            case "deleted":
                print("pod \"\(name)\" deleted")
            case "NotFound":
                status = say("Error from server (NotFound): pods \"\(name)\" not found", 1)
            default:
                status = say("error: pod \"\(name)\": \(reply?.result ?? "no reply")", 1)
            }
        }
        return status
    }

    /// Reads and removes a reply file; nil when there is none.
    static func take(_ path: String) -> RunRequests.Reply? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        unlink(path)
        return try? JSONDecoder().decode(RunRequests.Reply.self, from: data)
    }

    enum Event: Sendable {
        case reply(String)
        case runEnded
    }
}
