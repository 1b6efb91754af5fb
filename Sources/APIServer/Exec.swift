import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import KubeAPI
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The streaming server for `kubectl exec`: the kubelet's part (run the command in the
/// container, copy its streams) and the API server's (check the request, speak WebSocket to
/// the client), in one place since there is one node.
///
/// kubectl 1.32 asks for a WebSocket upgrade with `v5.channel.k8s.io` only. A request that
/// fails the API server's checks is refused before the upgrade; kubectl then retries the old
/// way (a SPDY POST), which `Handler` answers with the same error as a `Status`, and that is
/// what kubectl prints. Once upgraded, a failure is a `Status` on the error channel, as the
/// API server's stream translator sends it.
struct ExecServer: Sendable {
    let registry: Registry
    let token: String
    let runtime: (any StreamingRuntime)?

    /// After the command exits, how long output still held open by something it left behind
    /// (a background job writing to the same pipe) is copied before the session ends anyway.
    static let drainGrace = Duration.seconds(1)
    /// How long the client has to answer the close frame.
    static let closeTimeout = Duration.seconds(10)

    /// Decides the upgrade: an authenticated, valid exec request with a channel protocol the
    /// client offers gets the session; anything else is not upgraded.
    func shouldUpgrade(_ head: HTTPRequest) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard let runtime, head.method == .get, registry.authenticate(head.headerFields[.authorization], adminToken: token) != nil else { return .dontUpgrade }
        let target = head.path ?? ""
        let (path, query) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) }
            ?? (target, nil)
        guard let request = RemoteCommandRequest(path: path, query: query),
              let checked = try? request.validate(registry) else { return .dontUpgrade }
        let offered = head.headerFields[values: .secWebSocketProtocol]
            .flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard let proto = RemoteCommandChannel.protocols.first(where: offered.contains) else { return .dontUpgrade }
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = proto
        return .upgrade(headers) { inbound, outbound, context in
            if request.subresource == "attach" {
                await AttachSession(request: request, container: checked.container, uid: checked.uid, runtime: runtime,
                                    closeSignal: proto == RemoteCommandChannel.protocols[0], logger: context.logger)
                    .run(inbound: inbound, outbound: outbound)
                return
            }
            await ExecSession(request: request, container: checked.container, uid: checked.uid, runtime: runtime,
                              closeSignal: proto == RemoteCommandChannel.protocols[0], logger: context.logger)
                .run(inbound: inbound, outbound: outbound)
        }
    }
}

/// One `kubectl exec` over an upgraded connection.
struct ExecSession: Sendable {
    let request: RemoteCommandRequest
    let container: String
    let uid: String
    let runtime: any StreamingRuntime
    /// v5's `[255, 0]` (stdin closed) is understood.
    let closeSignal: Bool
    let logger: Logger

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let process: any RemoteProcess
        do {
            process = try await runtime.exec(namespace: request.namespace, pod: request.pod, uid: uid, container: container,
                                             command: request.command, stdin: request.stdin, tty: request.tty)
        } catch let e as RemoteCommandError {
            await send(e.status, outbound)
            return
        } catch {
            await send(RemoteCommandChannel.internalError("error executing command in container: \(error)"), outbound)
            return
        }
        let streams: Streams
        do {
            streams = try await Streams(process)
        } catch {
            process.kill()
            await send(RemoteCommandChannel.internalError("error attaching to the command's streams: \(error)"), outbound)
            return
        }
        // A terminal is one channel for both directions, opened in copyOut's scope, which hands
        // its writer over to copyIn.
        let (terminalWriter, terminalWriterFeed) = AsyncStream.makeStream(of: NIOAsyncChannelOutboundWriter<ByteBuffer>.self)
        await withTaskGroup(of: Void.self) { group in
            // Client → command: stdin, resizes, the close signal; ends with the connection.
            group.addTask { await self.copyIn(inbound, to: streams, terminalWriter: terminalWriter, process: process) }
            // Command → client, until every stream is at EOF.
            let copyOut = Task { await self.copyOut(streams, to: outbound, terminalWriter: terminalWriterFeed) }
            let outcome = await process.exitCode()
            let grace = Task {
                try await Task.sleep(for: ExecServer.drainGrace)
                copyOut.cancel()
            }
            await copyOut.value
            grace.cancel()
            switch outcome {
            case .success(let code): await send(RemoteCommandChannel.exitStatus(code), outbound)
            case .failure(let e): await send(e.status, outbound)
            }
            // The close frame (1000, normal closure) after the status; the reader above goes on
            // until the client's own close frame answers it, as the closing handshake wants.
            try? await outbound.close(.normalClosure, reason: nil)
            group.addTask { try? await Task.sleep(for: ExecServer.closeTimeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// The command's ends as event-loop channels: `NIOPipeBootstrap` reads and writes them
    /// without blocking a thread, and closes them when their `executeThenClose` scope ends.
    struct Streams: Sendable {
        /// The stdin pipe (not with a terminal, which is the one output).
        var stdin: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
        var outputs: [(channel: UInt8, stream: NIOAsyncChannel<ByteBuffer, ByteBuffer>)] = []
        var terminal = false

        init(_ process: any RemoteProcess) async throws {
            let bootstrap = NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            let wrap: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
            // Every descriptor is the bootstrap's once taken; those not yet taken are closed here on failure.
            var pending = [process.terminal, process.stdin, process.stdout, process.stderr].compactMap { $0 }
            do {
                if let terminal = process.terminal {
                    pending.removeAll { $0 == terminal }
                    let channel = try await bootstrap.takingOwnershipOfDescriptor(inputOutput: terminal, channelInitializer: wrap)
                    outputs.append((RemoteCommandChannel.stdout, channel))
                    self.terminal = true
                }
                if let fd = process.stdin {
                    pending.removeAll { $0 == fd }
                    stdin = try await bootstrap.takingOwnershipOfDescriptor(output: fd, channelInitializer: wrap)
                }
                for (channel, fd) in [(RemoteCommandChannel.stdout, process.stdout), (RemoteCommandChannel.stderr, process.stderr)] {
                    guard let fd else { continue }
                    pending.removeAll { $0 == fd }
                    outputs.append((channel, try await bootstrap.takingOwnershipOfDescriptor(input: fd, channelInitializer: wrap)))
                }
            } catch {
                pending.forEach { _ = Glibc.close($0) }
                stdin?.channel.close(promise: nil)
                for o in outputs { o.stream.channel.close(promise: nil) }
                throw error
            }
        }
    }

    /// Copies each output stream into its channel until EOF (a pty master reports the end
    /// as an I/O error once the terminal's last user is gone) or cancellation.
    private func copyOut(_ streams: Streams, to outbound: WebSocketOutboundWriter,
                         terminalWriter: AsyncStream<NIOAsyncChannelOutboundWriter<ByteBuffer>>.Continuation) async {
        defer { terminalWriter.finish() }
        await withTaskGroup(of: Void.self) { group in
            for (channel, stream) in streams.outputs {
                let wanted = channel == RemoteCommandChannel.stderr ? request.stderr : request.stdout || request.tty
                group.addTask {
                    do {
                        try await stream.executeThenClose { inbound, writer in
                            if streams.terminal { terminalWriter.yield(writer) }
                            for try await chunk in inbound {
                                if wanted { try await outbound.write(.binary(RemoteCommandChannel.frame(channel, chunk))) }
                            }
                        }
                    } catch {
                        logger.trace("exec output \(channel) ended: \(error)")
                    }
                }
            }
        }
    }

    /// Reads the client's messages for as long as the connection is open (reading is also
    /// what answers its pings). The client going away before the command ends kills it.
    private func copyIn(_ inbound: WebSocketInboundStream, to streams: Streams,
                        terminalWriter: AsyncStream<NIOAsyncChannelOutboundWriter<ByteBuffer>>, process: any RemoteProcess) async {
        if let pipe = streams.stdin {
            try? await pipe.executeThenClose { _, writer in await readClient(inbound, stdin: writer, process: process) }
        } else if streams.terminal {
            await readClient(inbound, stdin: await terminalWriter.first { _ in true }, process: process)
        } else {
            await readClient(inbound, stdin: nil, process: process)
        }
        if !Task.isCancelled { process.kill() }
    }

    private func readClient(_ inbound: WebSocketInboundStream, stdin writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?,
                            process: any RemoteProcess) async {
        // `[255, 0]`: the client's stdin is at EOF; so is the command's (not a terminal's).
        _ = await RemoteCommandChannel.readClient(inbound, closeSignal: closeSignal, stdin: writer, logger: logger,
                                                  resize: { process.resize(width: $0, height: $1) },
                                                  stdinEOF: { process.terminal == nil ? .closeStdin : .ignore })
    }

    private func send(_ status: JSONValue, _ outbound: WebSocketOutboundWriter) async {
        let body = ByteBuffer(string: Handler.encode(status))
        try? await outbound.write(.binary(RemoteCommandChannel.frame(RemoteCommandChannel.error, body)))
    }
}

extension Handler {
    /// An exec request that reached plain HTTP: the WebSocket upgrade was refused (kubectl
    /// then retries as a SPDY POST) or never asked for. The same checks give the same
    /// `Status`, which is what kubectl prints; a request that passes them is refused because
    /// only WebSocket streams are served.
    func remoteCommandRefusal(_ request: Request) throws(APIError) -> Response {
        guard let command = RemoteCommandRequest(path: request.uri.path, query: request.uri.query) else { throw APIError.pathNotFound }
        _ = try command.validate(registry)
        throw APIError.badRequest("tandem serves \(command.subresource) over WebSocket (v5.channel.k8s.io or v4.channel.k8s.io) only, not SPDY/3.1")
    }
}
