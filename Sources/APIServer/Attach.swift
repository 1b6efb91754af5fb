import Foundation
import HummingbirdWebSocket
import KubeAPI
import Logging
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The node's side of `kubectl attach` (the CRI's `Attach`): a running container's live stdio.
public protocol AttachedContainer: Sendable {
    /// The container runs on a terminal (its spec's `tty`): one output stream, and resizes apply.
    var tty: Bool { get }
    /// Its spec's `stdinOnce`.
    var stdinOnce: Bool { get }
    /// The container's output from now on (stdout, or stderr), until it stops.
    func follow() -> AsyncStream<(stderr: Bool, bytes: [UInt8])>
    /// A descriptor this session writes the client's stdin to and then closes; nil when the
    /// container has no stdin (`stdin: false`, or a `stdinOnce` stdin already closed).
    func openStdin() -> Int32?
    /// The session's stdin ended: a `stdinOnce` container's stdin is closed for good.
    func stdinSessionEnded()
    func resize(width: UInt16, height: UInt16)
}

/// One `kubectl attach` over an upgraded connection, as containerd's `ContainerIO.Attach` runs
/// it: the container's output from the moment of attach on channels 1 and 2 (a terminal's on
/// 1), the client's stdin (channel 0) into the container's stdin, resizes (channel 4) onto its
/// terminal.
///
/// The session ends when the container stops (then `Success`, as the kubelet's attach ends) or
/// the client goes away; and when the client's stdin ends (v5's `[255, 0]`) on a container that
/// takes stdin, unless it is `stdinOnce` without a terminal: then the container's stdin is
/// closed and its output still followed until it stops. A container without stdin ignores the
/// client's, as containerd does (no error: kubectl's `-i` then only streams output).
struct AttachSession: Sendable {
    let request: RemoteCommandRequest
    let container: String
    let uid: String
    let runtime: any StreamingRuntime
    /// v5's `[255, 0]` (stdin closed) is understood.
    let closeSignal: Bool
    let logger: Logger

    private enum Ending: Sendable { case outputEnded, stdinEnded, clientGone }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        let target: any AttachedContainer
        do {
            target = try await runtime.attach(namespace: request.namespace, pod: request.pod, uid: uid, container: container)
        } catch let e as RemoteCommandError {
            await finish(e.status, outbound)
            return
        } catch {
            await finish(RemoteCommandChannel.internalError("error attaching to container: \(error)"), outbound)
            return
        }
        // The terminal is the container's (the kubelet passes its spec's `tty`), and a terminal
        // has one output stream: the CRI's check, which a client without a terminal of its own
        // (kubectl then asks for stderr) fails.
        if target.tty && request.stderr {
            await finish(RemoteCommandChannel.internalError("unable to upgrade connection: tty and stderr cannot both be true"), outbound)
            return
        }
        // Following starts before anything else, so nothing written from here on is missed.
        let output = target.follow()
        let stdin = request.stdin ? target.openStdin() : nil
        let (endings, ended) = AsyncStream.makeStream(of: Ending.self)
        let reader = Task { ended.yield(await copyIn(inbound, stdin: stdin, target: target)) }
        let writer = Task {
            await copyOut(output, tty: target.tty, to: outbound)
            ended.yield(.outputEnded)
        }
        await withTaskCancellationHandler {
            var ending = Ending.clientGone
            for await e in endings {
                ending = e
                break
            }
            writer.cancel()
            guard ending != .clientGone else { return }
            // Everything copied goes out before the status; then the close frame (1000), and the
            // reader goes on until the client's own close frame answers it.
            await writer.value
            await finish(RemoteCommandChannel.exitStatus(0), outbound)
            let deadline = Task {
                try await Task.sleep(for: ExecServer.closeTimeout)
                reader.cancel()
            }
            await reader.value
            deadline.cancel()
        } onCancel: {
            reader.cancel()
            writer.cancel()
        }
        reader.cancel()
    }

    /// Copies the container's output to the client until the container stops (the stream ends)
    /// or the client cannot take more.
    private func copyOut(_ output: AsyncStream<(stderr: Bool, bytes: [UInt8])>, tty: Bool, to outbound: WebSocketOutboundWriter) async {
        do {
            for await chunk in output {
                let channel = chunk.stderr && !tty ? RemoteCommandChannel.stderr : RemoteCommandChannel.stdout
                let wanted = channel == RemoteCommandChannel.stderr ? request.stderr : request.stdout
                if wanted { try await outbound.write(.binary(RemoteCommandChannel.frame(channel, ByteBuffer(bytes: chunk.bytes)))) }
            }
        } catch {
            logger.trace("attach output ended: \(error)")
        }
    }

    /// Reads the client's messages for as long as the connection is open (which also answers
    /// its pings), writing its stdin to the container's through an event-loop channel, which
    /// never blocks a thread on a container that does not read.
    private func copyIn(_ inbound: WebSocketInboundStream, stdin fd: Int32?, target: any AttachedContainer) async -> Ending {
        guard let fd else { return await readClient(inbound, stdin: nil, target: target) }
        do {
            let pipe = try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton).takingOwnershipOfDescriptor(output: fd) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel,
                                                                configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
            return try await pipe.executeThenClose { _, writer in await readClient(inbound, stdin: writer, target: target) }
        } catch {
            logger.trace("attach input ended: \(error)")
            target.stdinSessionEnded()
            return .clientGone
        }
    }

    private func readClient(_ inbound: WebSocketInboundStream, stdin writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?,
                            target: any AttachedContainer) async -> Ending {
        let takesStdin = writer != nil
        var stdinOpen = takesStdin
        let eof = await RemoteCommandChannel.readClient(inbound, closeSignal: closeSignal, stdin: writer, logger: logger,
                                                        resize: { if target.tty { target.resize(width: $0, height: $1) } }) {
            // The client's stdin is at EOF: what was written is flushed and this session's copy
            // closed; a stdinOnce container (no terminal) then reads EOF.
            guard takesStdin else { return .ignore }
            stdinOpen = false
            target.stdinSessionEnded()
            return target.stdinOnce && !target.tty ? .closeStdin : .endSession
        }
        if eof { return .stdinEnded }
        if stdinOpen { target.stdinSessionEnded() }
        return .clientGone
    }

    /// The status, then the close frame 1000 kubectl needs to end cleanly.
    private func finish(_ status: JSONValue, _ outbound: WebSocketOutboundWriter) async {
        let body = ByteBuffer(string: Handler.encode(status))
        try? await outbound.write(.binary(RemoteCommandChannel.frame(RemoteCommandChannel.error, body)))
        try? await outbound.close(.normalClosure, reason: nil)
    }
}
