#if canImport(Glibc)
import Glibc
#endif

/// One open log file: its descriptor, identity, how far it has been read and the unfinished
/// line read so far. The descriptor is what is read, never the path again, so a file renamed
/// by rotation (or deleted) is still read to its end: "the open handle is kept until EOF", the
/// rule that makes rename rotation lossless in Vector and Fluent Bit.
///
/// Not Sendable: owned by the `Tailer` actor and used only from it.
final class TailedFile {
    let fd: Int32
    let identity: FileIdentity
    /// The path it was opened by, kept as a hint (for output and for finding it after a restart).
    var path: String
    /// The hash of the file's first bytes. Built from the bytes this reader itself read from
    /// offset 0 (`head`), never by reading the head again later: a copytruncate between a read
    /// and a second look would otherwise give a fingerprint of the new content for offsets
    /// counted in the old.
    private(set) var fingerprint: Fingerprint
    /// The first bytes this reader read from offset 0 (up to `headLength`): the fingerprint's
    /// bytes, and longer, to tell a copy of this generation from another one (`isCopy`).
    private var head: [UInt8] = []
    static let headLength = 4096
    /// Bytes read from the file so far; `committed` = `offset - pending.count`.
    private(set) var offset: Int64
    /// The unfinished last line.
    private var pending: [UInt8] = []
    /// When the path stopped pointing at this file (rotation or deletion): it is read for
    /// `rotateWait` more, then closed.
    var rotatedAt: ContinuousClock.Instant?
    let splitter: LineSplitter
    /// Set when a read found the file truncated under it (see `readChunk`).
    var truncationSeen = false

    /// The offset just past the last complete line handed out.
    var committed: Int64 { offset - Int64(pending.count) }

    init(fd: Int32, identity: FileIdentity, path: String, offset: Int64, splitter: LineSplitter) {
        self.fd = fd
        self.identity = identity
        self.path = path
        self.offset = offset
        self.splitter = splitter
        self.fingerprint = Fingerprint(bytes: [])
    }

    deinit { close(fd) }

    enum Opened {
        case file(TailedFile, stat)
        case missing
        case failed(String)
    }

    /// Opens `path` for reading, refusing what is not a regular file (a directory or FIFO
    /// named by mistake would otherwise block or fail on every read).
    static func open(_ path: String, splitter: LineSplitter) -> Opened {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            return .failed("\(path): \(String(cString: strerror(errno)))")
        }
        guard let st = FD.status(of: fd) else {
            close(fd)
            return .failed("\(path): fstat: \(String(cString: strerror(errno)))")
        }
        guard FD.isRegular(st) else {
            close(fd)
            return .failed("\(path): not a regular file")
        }
        return .file(TailedFile(fd: fd, identity: FileIdentity(st), path: path, offset: 0, splitter: splitter), st)
    }

    /// Starts reading at `offset` (a checkpoint, or the end for `--from end`).
    func seek(to newOffset: Int64) {
        offset = newOffset
        pending = []
        head = []
        // Not read from the start: the head as it is now is the best there is.
        fingerprint = newOffset == 0 ? Fingerprint(bytes: []) : Fingerprint.read(fd: fd)
    }

    /// Starts reading where a checkpoint left this file, with the checkpoint's head: if the
    /// file was truncated or rewritten while nothing read it, the first `wasTruncated` says so
    /// and the rest of the old content is looked for in a copy.
    func resume(at cp: OffsetStore.Checkpoint) {
        seek(to: cp.offset)
        fingerprint = cp.fingerprint
    }

    var checkpoint: OffsetStore.Checkpoint {
        OffsetStore.Checkpoint(path: path, identity: identity, fingerprint: fingerprint, offset: committed, updated: Int(time(nil)))
    }

    /// Whether the file was truncated (copytruncate) or rewritten from the start since it was
    /// last read: it is shorter than what was read, or no longer starts with the same bytes.
    func wasTruncated() -> Bool {
        guard let st = FD.status(of: fd) else { return false }
        let size = Int64(st.st_size)
        return RotationDetector.wasTruncated(size: size, offset: offset,
                                             headUnchanged: size < offset || offset == 0 || fingerprint.matches(fd: fd))
    }

    /// After a truncation: read again from the start of the new content.
    func restartFromBeginning() {
        truncationSeen = false
        seek(to: 0)
    }

    /// Reads up to `maxBytes` and returns the complete lines, or nil at end of file.
    func readChunk(maxBytes: Int) throws -> LineBatch.Chunk? {
        let keep = pending.count
        var failure: Int32 = 0
        // Read straight into a fresh buffer after the unfinished line: the buffer becomes the
        // chunk the sink gets, so there is no copy per line.
        var buffer = [UInt8](unsafeUninitializedCapacity: keep + maxBytes) { buf, count in
            pending.withUnsafeBufferPointer { p in
                if keep > 0 { buf.baseAddress!.initialize(from: p.baseAddress!, count: keep) }
            }
            var n = 0
            repeat {
                n = pread(fd, buf.baseAddress! + keep, maxBytes, off_t(offset))
            } while n < 0 && errno == EINTR
            if n < 0 { failure = errno; n = 0 }
            count = keep + n
        }
        if failure != 0 { throw FD.Error("read \(path)", failure) }
        let n = buffer.count - keep
        if n == 0 { return nil }
        // Truncated between the caller's check and this read (copytruncate racing the read):
        // these bytes may be the new content read from the old offset. They are dropped
        // unread; the caller sees the truncation and takes the old content from the copy.
        if offset > 0, !fingerprint.matches(fd: fd) {
            truncationSeen = true
            return nil
        }
        offset += Int64(n)
        let readStart = Int(offset) - n
        if readStart == head.count, head.count < Self.headLength {
            head += buffer[keep..<(keep + min(n, Self.headLength - readStart))]
            if readStart < Fingerprint.maxLength { fingerprint = Fingerprint(bytes: head.prefix(Fingerprint.maxLength)) }
        }
        let result = splitter.split(buffer)
        pending = Array(buffer[result.consumed...])
        if result.consumed < buffer.count { buffer.removeLast(buffer.count - result.consumed) }
        return LineBatch.Chunk(path: path, bytes: buffer, lines: result.lines, isWholeLines: !result.cut)
    }

    /// Whether `copy` holds the generation this reader is reading from its start: it begins
    /// with the same bytes, as far as both were read. logrotate's copytruncate copies before it
    /// truncates, so until the truncation the copy beside the file (complete, or still being
    /// written and shorter than what was read here) holds lines this reader reads from the file
    /// itself: read as a generation of its own, they would come out twice.
    func isCopy(_ copy: TailedFile) -> Bool {
        let theirs = FD.head(of: copy.fd, length: head.count)
        return head.starts(with: theirs)
    }

    /// Hands out the unfinished line as a line of its own: only for a file that is being closed
    /// for good (rotated and past `rotateWait`, or whose rotated copy is the last of its data).
    func flushPending() -> LineBatch.Chunk? {
        guard !pending.isEmpty else { return nil }
        let bytes = pending
        pending = []
        return LineBatch.Chunk(path: path, bytes: bytes, lines: [0..<bytes.count], isWholeLines: false)
    }
}
