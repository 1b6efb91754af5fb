#if canImport(Glibc)
import Glibc
#endif

/// Writes each line through a `LineFormat` to a descriptor (stdout), one `write(2)` per batch.
/// The container runtime captures a sidecar's stdout into the CRI log, so this is what
/// `kubectl logs` of the sidecar shows, like the seed's `tail | while read` forwarder.
public struct StdoutSink: LogSink {
    public let fd: Int32
    public let format: LineFormat

    public init(fd: Int32 = 1, format: LineFormat) {
        self.fd = fd
        self.format = format
    }

    public nonisolated(nonsending) func write(_ batch: LineBatch) async throws {
        // `{line}` alone: a chunk is already its lines and their newlines, so it is written as
        // it was read, with no copy.
        if format.isPlain, batch.chunks.allSatisfy(\.isWholeLines) {
            for chunk in batch.chunks {
                try chunk.bytes.withUnsafeBytes { try FD.writeAll(fd, $0) }
            }
            return
        }
        var out: [UInt8] = []
        out.reserveCapacity(batch.byteCount + batch.lineCount * 48)
        format.render(batch, into: &out)
        try out.withUnsafeBytes { try FD.writeAll(fd, $0) }
    }
}
