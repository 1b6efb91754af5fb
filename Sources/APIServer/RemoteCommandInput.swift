import HummingbirdWebSocket
import Logging
import NIOCore

/// What a session does when the client's stdin reaches EOF (v5's `[255, 0]`).
enum StdinEOF {
    /// Nothing (a terminal, or a session that writes no stdin).
    case ignore
    /// Flush and close this session's stdin writer; the session goes on.
    case closeStdin
    /// Close it and end the session.
    case endSession
}

extension RemoteCommandChannel {
    /// Reads an exec or attach client's messages for as long as the connection is open (reading
    /// is also what answers its pings): stdin to `stdin` (dropped once it takes no more: the
    /// process closed its stdin or ended; the session goes on), resizes to `resize`, and the first
    /// `[255, 0]` (with `closeSignal`, v5) to `stdinEOF`. Returns true when that ended the
    /// session, false when the client went away.
    static func readClient(_ inbound: WebSocketInboundStream, closeSignal: Bool, stdin writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?,
                           logger: Logger, resize: (UInt16, UInt16) -> Void, stdinEOF: () -> StdinEOF) async -> Bool {
        var stdin = writer
        var eofSeen = false
        do {
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case .binary(var data) = message, let channel = data.readInteger(as: UInt8.self) else { continue }
                switch channel {
                case Self.stdin:
                    if data.readableBytes > 0, let w = stdin {
                        do { try await w.write(data) } catch { stdin = nil }
                    }
                case Self.resize:
                    if let size = Self.size(data.readableBytesView) { resize(size.width, size.height) }
                case Self.close where closeSignal:
                    guard data.readInteger(as: UInt8.self) == Self.stdin, !eofSeen else { break }
                    eofSeen = true
                    let action = stdinEOF()
                    if action != .ignore {
                        stdin?.finish()
                        stdin = nil
                    }
                    if action == .endSession { return true }
                default: break
                }
            }
        } catch {
            logger.trace("remote command input ended: \(error)")
        }
        return false
    }
}
