import APIStore
import Foundation
import Hummingbird
import KubeAPI
import LogTailer
import NIOCore

/// `GET …/pods/P/log`: the container's CRI log file (`ROOT/pods/NS_P_UID/C/N.log`, N the restart
/// count) read as the kubelet's `ReadLogs` does — `previous`, `timestamps`, `tailLines`,
/// `sinceSeconds`, `sinceTime`, `limitBytes` — and with `follow` kept open, woken by inotify on
/// the container's log directory and by the pod's status changes, until the container stops.
struct LogReader: Sendable {
    let root: String

    struct Options {
        var timestamps = false
        var tail: Int?
        var since: Date?
        var limitBytes: Int?
    }

    func response(namespace: String, pod name: String, query: [String: String], registry: Registry) async throws -> Response {
        let object = try registry.get(.pods, namespace: namespace, name: name)
        guard let pod = try? object.decode(Pod.self) else { throw APIError.badRequest("pod \"\(name)\" cannot be read") }
        let names = (pod.spec.initContainers ?? []).map(\.name) + pod.spec.containers.map(\.name) + (pod.spec.ephemeralContainers ?? []).map(\.name)
        let container: String
        if let c = query["container"], !c.isEmpty {
            guard names.contains(c) else { throw APIError.badRequest("container \(c) is not valid for pod \(name)") }
            container = c
        } else if pod.spec.containers.count == 1 {
            container = pod.spec.containers[0].name
        } else {
            throw APIError.badRequest("a container name must be specified for pod \(name), choose one of: [\(names.joined(separator: " "))]")
        }
        let previous = queryFlag(query["previous"])
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? []) + (pod.status?.ephemeralContainerStatuses ?? [])
        guard let status = statuses.first(where: { $0.name == container }) else {
            throw APIError.badRequest("container \"\(container)\" in pod \"\(name)\" is waiting to start: ContainerCreating")
        }
        // `validateContainerLogStatus`: which run's file, or why there is none.
        var run = Int(status.restartCount)
        if previous {
            guard status.lastState.terminated != nil, run > 0 else {
                throw APIError.badRequest("previous terminated container \"\(container)\" in pod \"\(name)\" not found")
            }
            run -= 1
        } else if let waiting = status.state.waiting {
            guard status.lastState.terminated != nil, run > 0 else {
                throw APIError.badRequest("container \"\(container)\" in pod \"\(name)\" is waiting to start: \(waiting.reason ?? "ContainerCreating")")
            }
            run -= 1
        }
        var options = Options()
        options.timestamps = queryFlag(query["timestamps"])
        options.tail = query["tailLines"].flatMap(Int.init)
        options.limitBytes = query["limitBytes"].flatMap(Int.init)
        if let s = query["sinceSeconds"].flatMap(Double.init) { options.since = Date().addingTimeInterval(-s) }
        if let t = query["sinceTime"] { options.since = Timestamp.date(t) }
        let dir = "\(root)/pods/\(namespace)_\(name)_\(pod.uid)/\(container)"
        let path = "\(dir)/\(run).log"
        let follow = queryFlag(query["follow"]) && !previous && status.state.running != nil
        let key = (namespace: namespace, name: name, uid: pod.uid, container: container, run: run)
        let store = registry.store
        let opts = options

        let body = ResponseBody { writer in
            var reader = CRIFile(path: path)
            var remaining = opts.limitBytes ?? Int.max
            var lines = reader.readAvailable()
            if let since = opts.since { lines = lines.filter { $0.time >= since } }
            if let tail = opts.tail { lines = Array(lines.suffix(max(0, tail))) }
            func emit(_ batch: [CRIFile.Line]) async throws -> Bool {
                var out = ""
                for l in batch {
                    var text = opts.timestamps ? l.timestamp + " " + l.content : l.content
                    if text.utf8.count > remaining { text = String(decoding: Array(text.utf8.prefix(remaining)), as: UTF8.self) }
                    remaining -= text.utf8.count
                    out += text
                    if remaining <= 0 { break }
                }
                if !out.isEmpty { try await writer.write(ByteBuffer(string: out)) }
                return remaining > 0
            }
            guard try await emit(lines), follow else {
                try await writer.finish(nil)
                return
            }
            let (wakes, stop) = Self.wakeups(store: store, dir: dir, namespace: key.namespace, pod: key.name)
            defer { stop() }
            for await _ in wakes {
                guard try await emit(reader.readAvailable()) else { break }
                if !Self.stillRunning(store: store, key) {
                    _ = try await emit(reader.readAvailable(final: true))
                    break
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: body)
    }

    /// Follow's wake-ups: the container's log directory written to, or the pod changed (which
    /// may be the container stopping). The second result ends them.
    static func wakeups(store: ObjectStore, dir: String, namespace: String, pod: String) -> (AsyncStream<Void>, @Sendable () -> Void) {
        let watcher = try? DirectoryWatcher()
        _ = watcher?.watch(dir)
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let podChanges = try? store.watch(resource: APIResource.pods.qualifiedName, namespace: namespace, from: (try? store.revision()) ?? 0)
        let tasks = [
            Task { if let w = watcher { for await _ in w.wakeups { wake.yield() } } },
            Task { if let p = podChanges { for await c in p where c.key.name == pod { wake.yield() } }; wake.finish() },
        ]
        return (wakes, {
            tasks.forEach { $0.cancel() }
            watcher?.stop()
        })
    }

    /// Whether the same run of the container is still running (a restart starts a new file).
    static func stillRunning(store: ObjectStore, _ key: (namespace: String, name: String, uid: String, container: String, run: Int)) -> Bool {
        guard let object = try? store.get(ObjectKey(resource: APIResource.pods.qualifiedName, namespace: key.namespace, name: key.name)),
              let pod = try? object.decode(Pod.self), pod.uid == key.uid else { return false }
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? []) + (pod.status?.ephemeralContainerStatuses ?? [])
        guard let s = statuses.first(where: { $0.name == key.container }) else { return false }
        return Int(s.restartCount) == key.run && s.state.running != nil
    }
}

/// Reads a CRI log file incrementally: `TIMESTAMP STREAM P|F CONTENT` records, partial (`P`)
/// chunks joined to their line.
struct CRIFile {
    struct Line {
        var timestamp: String
        var time: Date
        var content: String
    }

    let path: String
    private var offset: UInt64 = 0
    private var carry = Data()
    private var partial: (timestamp: String, content: String)?

    init(path: String) { self.path = path }

    /// The complete records added since the last call; with `final`, an unterminated last
    /// record too.
    mutating func readAvailable(final: Bool = false) -> [Line] {
        carry.append(Self.appended(path, after: &offset))
        var lines: [Line] = []
        while let nl = carry.firstIndex(of: UInt8(ascii: "\n")) {
            let record = String(decoding: carry[carry.startIndex..<nl], as: UTF8.self)
            carry.removeSubrange(carry.startIndex...nl)
            if let line = parse(record) { lines.append(line) }
        }
        if final, !carry.isEmpty {
            if let line = parse(String(decoding: carry, as: UTF8.self)) { lines.append(line) }
            carry.removeAll()
        }
        return lines
    }

    /// What was written to the file at `path` past `offset`, which moves past it.
    static func appended(_ path: String, after offset: inout UInt64) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        offset += UInt64(data.count)
        return data
    }

    private mutating func parse(_ record: String) -> Line? {
        let fields = record.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3 else { return nil }
        let timestamp = String(fields[0])
        let content = fields.count > 3 ? String(fields[3]) : ""
        if fields[2] == "P" {
            partial = (partial?.timestamp ?? timestamp, (partial?.content ?? "") + content)
            return nil
        }
        let first = partial?.timestamp ?? timestamp
        let full = (partial?.content ?? "") + content + "\n"
        partial = nil
        return Line(timestamp: first, time: Timestamp.date(first) ?? Date.distantPast, content: full)
    }
}
