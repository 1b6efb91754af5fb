import APIStore
import Foundation
import HummingbirdWebSocket
import KubeAPI
import Logging
import NIOCore

/// `kubectl attach` without `-i`: the running container's stdout and stderr from the moment of
/// attach, on channels 1 and 2 of the same WebSocket protocol as exec, until the container
/// stops (then `Success`, as the kubelet's attach ends) or the client goes away.
///
/// The container's output already goes to its CRI log file through the runtime's log pump, so
/// attach follows that file from its end: each `TIMESTAMP STREAM P|F CONTENT` record is the
/// bytes the container wrote, its stream names the channel, `F` restores the newline. Attaching
/// to stdin (`-i`) needs a pipe held as the container's stdin, which the runtime does not keep
/// yet: such a request gets an error status.
struct AttachSession: Sendable {
    let request: RemoteCommandRequest
    let container: String
    let uid: String
    let store: ObjectStore
    let logs: LogReader
    let logger: Logger

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        guard let run = runningInstance() else {
            await finish(RemoteCommandError.containerNotFound(container).status, outbound)
            return
        }
        guard !request.stdin else {
            await finish(RemoteCommandChannel.internalError("tandem does not attach to a container's stdin yet"), outbound)
            return
        }
        let dir = "\(logs.root)/pods/\(request.namespace)_\(request.pod)_\(uid)/\(container)"
        var file = FollowedRecords(path: "\(dir)/\(run).log")
        file.skipToEnd()
        let key = (namespace: request.namespace, name: request.pod, uid: uid, container: container, run: run)
        let (wakes, stopWakes) = LogReader.wakeups(store: store, dir: dir, namespace: request.namespace, pod: request.pod)
        // The client's messages are read for as long as it stays (which answers its pings); its
        // leaving ends the wake-ups and so the session.
        let reader = Task {
            do { for try await _ in inbound.messages(maxSize: 1 << 20) {} } catch { logger.trace("attach input ended: \(error)") }
            stopWakes()
        }
        defer {
            reader.cancel()
            stopWakes()
        }
        do {
            for await _ in wakes {
                try await emit(file.read(), outbound)
                if !LogReader.stillRunning(store: store, key) {
                    try await emit(file.read(), outbound)
                    await finish(RemoteCommandChannel.exitStatus(0), outbound)
                    return
                }
            }
        } catch {
            logger.trace("attach output ended: \(error)")
        }
    }

    /// The restart count of the running instance of the container (its log file's number).
    private func runningInstance() -> Int? {
        guard let object = try? store.get(ObjectKey(resource: APIResource.pods.qualifiedName, namespace: request.namespace, name: request.pod)),
              let pod = try? object.decode(Pod.self), pod.uid == uid else { return nil }
        let statuses = (pod.status?.initContainerStatuses ?? []) + (pod.status?.containerStatuses ?? [])
        guard let status = statuses.first(where: { $0.name == container }), status.state.running != nil else { return nil }
        return Int(status.restartCount)
    }

    private func emit(_ records: [(stream: UInt8, bytes: ByteBuffer)], _ outbound: WebSocketOutboundWriter) async throws {
        for (stream, bytes) in records {
            let wanted = stream == RemoteCommandChannel.stderr ? request.stderr : request.stdout
            if wanted { try await outbound.write(.binary(RemoteCommandChannel.frame(stream, bytes))) }
        }
    }

    /// The status, then the close frame 1000 kubectl needs to end cleanly.
    private func finish(_ status: JSONValue, _ outbound: WebSocketOutboundWriter) async {
        let body = ByteBuffer(string: Handler.encode(status))
        try? await outbound.write(.binary(RemoteCommandChannel.frame(RemoteCommandChannel.error, body)))
        try? await outbound.close(.normalClosure, reason: nil)
    }
}

/// A CRI log file read from an offset on: the complete records appended since the last read,
/// as the bytes each carried and the channel of its stream.
struct FollowedRecords {
    let path: String
    private var offset: UInt64 = 0
    private var carry = Data()

    init(path: String) { self.path = path }

    /// Starts after what is already there: attach shows output from now on.
    mutating func skipToEnd() {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? nil
        offset = size ?? 0
    }

    mutating func read() -> [(stream: UInt8, bytes: ByteBuffer)] {
        carry.append(CRIFile.appended(path, after: &offset))
        var records: [(stream: UInt8, bytes: ByteBuffer)] = []
        while let nl = carry.firstIndex(of: UInt8(ascii: "\n")) {
            let record = carry[carry.startIndex..<nl]
            carry.removeSubrange(carry.startIndex...nl)
            let fields = record.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { continue }
            var bytes = ByteBuffer(bytes: fields.count > 3 ? Array(fields[3]) : [])
            if fields[2].elementsEqual("F".utf8) { bytes.writeInteger(UInt8(ascii: "\n")) }
            let stream = fields[1].elementsEqual("stderr".utf8) ? RemoteCommandChannel.stderr : RemoteCommandChannel.stdout
            records.append((stream, bytes))
        }
        return records
    }
}
